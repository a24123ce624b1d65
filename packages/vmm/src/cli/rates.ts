// Per-domain rates from two snapshots of the counters (what `pvkit stat`,
// `pvkit run --stat` and the demo show). Block and network throughput come
// from the device types' own counters when the backend names them, else
// from the generic queue counters every virtio backend keeps.
import type { DeviceStats, DomainStats } from '../toolstack/domain.ts';

export interface DomainRates {
  hypercalls: number;
  /** Calls per second by name, busiest first (multicall entries included). */
  byCall: { name: string; rate: number }[];
  events: number;
  kicks: number;
  interrupts: number;
  blkMBs: number;
  netPps: number;
  netMBs: number;
}

const sum = (ds: DeviceStats[], f: (d: DeviceStats) => number) => ds.reduce((s, d) => s + f(d), 0);
const of = (d: DomainStats, key: string) => d.devices.filter((x) => x.key === key);

/** Bytes the domain's disks moved between image and guest memory (read + written). */
export function blkBytes(d: DomainStats): number {
  return sum(of(d, 'disks'), (x) =>
    'bytesRead' in x.counters ? x.counters.bytesRead + (x.counters.bytesWritten ?? 0) : x.bytes,
  );
}

/** Frames the domain's NICs sent and received. */
export function netPackets(d: DomainStats): number {
  return sum(of(d, 'nics'), (x) =>
    'txFrames' in x.counters ? x.counters.txFrames + (x.counters.rxFrames ?? 0) : x.chains,
  );
}

/** Frame bytes the domain's NICs sent and received. */
export function netBytes(d: DomainStats): number {
  return sum(of(d, 'nics'), (x) =>
    'txBytes' in x.counters ? x.counters.txBytes + (x.counters.rxBytes ?? 0) : x.bytes,
  );
}

export const totalKicks = (d: DomainStats) => sum(d.devices, (x) => x.kicks);
export const totalInterrupts = (d: DomainStats) => sum(d.devices, (x) => x.interrupts);

/** Rates between `prev` (undefined: a domain new since then, counted from zero) and `cur`. */
export function domainRates(
  prev: DomainStats | undefined,
  cur: DomainStats,
  dtS: number,
): DomainRates {
  const per = (f: (d: DomainStats) => number) =>
    dtS > 0 ? Math.max(0, f(cur) - (prev ? f(prev) : 0)) / dtS : 0;
  const before = new Map(prev?.calls.map((c) => [c.nr, c.count]) ?? []);
  const byCall = cur.calls
    .map((c) => ({ name: c.name, rate: dtS > 0 ? (c.count - (before.get(c.nr) ?? 0)) / dtS : 0 }))
    .filter((c) => c.rate > 0)
    .sort((a, b) => b.rate - a.rate);
  return {
    hypercalls: per((d) => d.hypercalls),
    byCall,
    events: per((d) => d.eventsDelivered),
    kicks: per(totalKicks),
    interrupts: per(totalInterrupts),
    blkMBs: per(blkBytes) / 1e6,
    netPps: per(netPackets),
    netMBs: per(netBytes) / 1e6,
  };
}

/** 3 significant digits, with k/M/G past a thousand: "0", "7.50", "123", "12.3k". */
export function compact(n: number): string {
  if (n === 0) return '0';
  const units = ['', 'k', 'M', 'G'];
  let u = 0;
  while (Math.abs(n) >= 999.5 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toFixed(digits)}${units[u]}`;
}
