// The file `pvkit trace record` writes: a sequence of msgpack maps (plain
// maps, no msgpackr extensions, so any msgpack decoder reads it): a header,
// one "domain" map per domain, then one map per trap, multicall entry and
// event as the hypervisor recorded them, and an "end" map with what the VMM
// counted. Times are ns of the VMM's system time (shared by its domains).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { RAISE, TRACE_KIND, type TraceRecord } from '@pvkit/hypercall';
import { Packr, unpackMultiple } from 'msgpackr';
import type { ExitInfo } from '../toolstack/domain.ts';

export const TRACE_FORMAT = 'pvkit-trace';
export const TRACE_VERSION = 1;

export interface TraceHeader {
  kind: 'header';
  format: typeof TRACE_FORMAT;
  version: number;
  startedAt: string;
  command: string;
  /** Call names by number. */
  calls: Record<string, string>;
}
export interface TraceDomain {
  kind: 'domain';
  domid: number;
  name: string;
}
/** A trap (timed from pickup to answer) or a multicall entry (run inside its trap; duration 0). */
export interface TraceCall {
  kind: 'trap' | 'entry';
  domid: number;
  vcpu: number;
  nr: number;
  call: string;
  args: number[];
  result: number;
  start: number;
  duration: number;
}
/** An event the hypervisor raised into `domid` (timers, VIRQs, interdomain sends). */
export interface TraceEvent {
  kind: 'event';
  domid: number;
  vcpu: number;
  port: number;
  /** "delivered", "masked", "already_pending" or "bad_port". */
  outcome: string;
  start: number;
}
export interface TraceEnd {
  kind: 'end';
  /** Records written, and records the hypervisor could not put in the ring (full). */
  records: number;
  dropped: number;
  domains: {
    domid: number;
    name: string;
    exit: ExitInfo | null;
    /** What the VMM counted per call (traps and multicall entries). */
    calls: { nr: number; name: string; count: number }[];
    eventsDelivered: number;
  }[];
}
export type TraceItem = TraceHeader | TraceDomain | TraceCall | TraceEvent | TraceEnd;

const OUTCOMES = new Map<number, string>(Object.entries(RAISE).map(([k, v]) => [v, k]));

export function traceItem(
  r: TraceRecord,
  callName: (nr: number) => string,
): TraceCall | TraceEvent {
  if (r.kind === TRACE_KIND.event)
    return {
      kind: 'event',
      domid: r.domid,
      vcpu: r.vcpu,
      port: r.nr,
      outcome: OUTCOMES.get(r.result) ?? String(r.result),
      start: r.timeNs,
    };
  return {
    kind: r.kind === TRACE_KIND.entry ? 'entry' : 'trap',
    domid: r.domid,
    vcpu: r.vcpu,
    nr: r.nr,
    call: callName(r.nr),
    args: r.args,
    result: r.result,
    start: r.timeNs,
    duration: r.durationNs,
  };
}

/** Appends items to a file, synchronously: memory holds one batch at most. */
export class TraceWriter {
  declare private readonly fd: number;
  private readonly packr = new Packr({ useRecords: false, moreTypes: false });
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(items: readonly object[]): void {
    if (items.length === 0) return;
    const buf = Buffer.concat(items.map((i) => this.packr.pack(i)));
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off);
    this.bytes += buf.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const CHUNK = 1 << 20;

/**
 * Call `each` for every item of a trace file, reading 1 MiB at a time.
 * Returns the byte offset where an unfinished last item starts (the
 * recording was cut short), or null if the file ends cleanly.
 */
export function readTrace(path: string, each: (item: TraceItem) => void): number | null {
  const fd = openSync(path, 'r');
  try {
    let pending: Buffer = Buffer.alloc(0);
    let consumed = 0;
    const chunk = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) return pending.length > 0 ? consumed : null;
      const buf = pending.length
        ? Buffer.concat([pending, chunk.subarray(0, n)])
        : chunk.subarray(0, n);
      try {
        unpackMultiple(buf, (v) => each(v as TraceItem));
        consumed += buf.length;
        pending = Buffer.alloc(0);
      } catch (e) {
        const err = e as Error & { incomplete?: boolean; lastPosition?: number };
        if (!err.incomplete || err.lastPosition === undefined) throw err;
        consumed += err.lastPosition;
        pending = Buffer.from(buf.subarray(err.lastPosition)); // chunk is reused
      }
    }
  } finally {
    closeSync(fd);
  }
}
