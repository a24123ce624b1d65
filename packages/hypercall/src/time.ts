// Time. Every thread of one process reads the same host clock,
// performance.timeOrigin + performance.now() (ms since the Unix epoch, µs
// precision; threads agree to a few µs). A domain's system time is ns since
// an origin the VMM picks; vcpu_time_info maps one to the other, Xen-style:
// system_time at a host-clock stamp (Xen calls the stamp tsc_timestamp).
import { VCPU_TIME_INFO } from './layout.ts';

const origin = performance.timeOrigin;

/** The host clock shared by all threads, in ms (fractional). */
export function hostClockMs(): number {
  return origin + performance.now();
}

export interface TimeInfo {
  /** Host clock (ms) at which system_time was sampled. */
  tscTimestamp: number;
  /** System time (ns) at tscTimestamp. */
  systemTime: number;
}

/** Write vcpu_time_info at byte offset `at` (8-aligned) of guest memory, version protocol. */
export function writeTimeInfo(buf: SharedArrayBuffer, at: number, t: TimeInfo): void {
  const words = new Int32Array(buf);
  const f64 = new Float64Array(buf);
  const v = (at + VCPU_TIME_INFO.version) >>> 2;
  Atomics.add(words, v, 1); // odd: update in progress
  f64[(at + VCPU_TIME_INFO.tsc_timestamp) >>> 3] = t.tscTimestamp;
  f64[(at + VCPU_TIME_INFO.system_time) >>> 3] = t.systemTime;
  Atomics.add(words, v, 1);
}

/** Read vcpu_time_info at byte offset `at`, retrying while an update is in progress. */
export function readTimeInfo(buf: SharedArrayBuffer, at: number): TimeInfo {
  const words = new Int32Array(buf);
  const f64 = new Float64Array(buf);
  const v = (at + VCPU_TIME_INFO.version) >>> 2;
  for (;;) {
    const before = Atomics.load(words, v);
    const tscTimestamp = f64[(at + VCPU_TIME_INFO.tsc_timestamp) >>> 3];
    const systemTime = f64[(at + VCPU_TIME_INFO.system_time) >>> 3];
    if ((before & 1) === 0 && Atomics.load(words, v) === before)
      return { tscTimestamp, systemTime };
  }
}

/** System time (ns) now, given a domain's time info. */
export function systemTimeNs(t: TimeInfo): number {
  return t.systemTime + (hostClockMs() - t.tscTimestamp) * 1e6;
}
