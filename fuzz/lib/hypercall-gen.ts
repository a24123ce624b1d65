// Hypercalls a hostile vCPU can make: any call number (the mailbox word is
// an i32) and six arguments as raw u64 words, so "negative" and "past 2^53"
// are just bit patterns, exactly what a guest can write. Structure-aware:
// each call and sub-op has an argument template (a domid here, a port
// there, a pointer, a count), filled mostly with values of that kind near
// their limits and sometimes with anything at all; the structs a pointer
// names (multicall lists, nested ones included; poll port arrays; memory
// map requests) are written into guest memory with junk mixed in.
import {
  CONSOLEIO,
  DOMID_MAX,
  DOMID_SELF,
  EVTCHNOP,
  HYPERVISOR,
  LIMITS,
  MMIOOP,
  MULTICALL_ENTRY,
  MULTICALL_ENTRY_SIZE,
  NR_EVENT_CHANNELS,
  NR_VIRQS,
  SCHEDOP,
  SHUTDOWN,
  VCPUOP,
  XENMEM,
  XENVER,
} from '../../packages/hypercall/src/index.ts';
import type { Rng } from './rng.ts';

type Kind = 'sub' | 'dom' | 'port' | 'vcpu' | 'virq' | 'ptr' | 'count' | 'reason' | 'ns' | 'any';

const H = HYPERVISOR;
const E = EVTCHNOP;
/** Argument kinds after the sub-op, per call and sub-op (from the handlers' signatures). */
const TEMPLATES: Readonly<
  Record<number, Readonly<Record<number, readonly Kind[]>> | readonly Kind[]>
> = {
  [H.memory_op]: ['sub', 'ptr'],
  [H.xen_version]: ['sub', 'ptr'],
  [H.console_io]: ['sub', 'count', 'ptr'],
  [H.vcpu_op]: ['sub', 'vcpu', 'ptr'],
  [H.set_timer_op]: ['ns'],
  [H.multicall]: ['ptr', 'count'],
  [H.pvkit_mmio_op]: ['sub', 'count', 'count', 'any', 'count'],
  [H.sched_op]: {
    [SCHEDOP.shutdown]: ['sub', 'reason', 'any'],
    [SCHEDOP.poll]: ['sub', 'ptr', 'count', 'ns'],
    [SCHEDOP.watchdog]: ['sub', 'count', 'count'],
  },
  [H.event_channel_op]: {
    [E.alloc_unbound]: ['sub', 'dom'],
    [E.bind_interdomain]: ['sub', 'dom', 'port'],
    [E.bind_virq]: ['sub', 'virq', 'vcpu'],
    [E.close]: ['sub', 'port'],
    [E.send]: ['sub', 'port'],
    [E.status]: ['sub', 'dom', 'port', 'ptr'],
    [E.bind_ipi]: ['sub', 'vcpu'],
    [E.unmask]: ['sub', 'port'],
  },
};
const SUBOPS: Readonly<Record<number, readonly number[]>> = {
  [H.memory_op]: Object.values(XENMEM),
  [H.xen_version]: Object.values(XENVER),
  [H.console_io]: Object.values(CONSOLEIO),
  [H.vcpu_op]: Object.values(VCPUOP),
  [H.sched_op]: Object.values(SCHEDOP),
  [H.event_channel_op]: Object.values(EVTCHNOP),
  [H.pvkit_mmio_op]: Object.values(MMIOOP),
};
const CALLS = Object.values(HYPERVISOR);

/** What the generator knows about the guest it writes for. */
export interface GuestView {
  bytes: number;
  reserved: number;
  dv: DataView;
  self: number;
  other: number;
  /** Ports worth naming: the one the other domain offered, ones this domain likely holds. */
  ports: readonly number[];
}

/** A call: number (as the i32 mailbox word) and 12 argument words (lo, hi per argument). */
export interface Call {
  nr: number;
  words: Uint32Array;
}

/** A pointer somewhere useful: free RAM, the reserved pages, or the last bytes and past them. */
function pointer(rng: Rng, g: GuestView, room: number): number {
  switch (rng.int(4)) {
    case 0:
      return g.reserved + 8 * rng.int(Math.max(1, (g.bytes - g.reserved - room) / 8));
    case 1:
      return rng.int(g.reserved);
    case 2:
      return Math.max(0, g.bytes - room + rng.range(-8, 8));
    default:
      return g.bytes + rng.int(64);
  }
}

const HUGE: readonly [number, number][] = [
  [0xffffffff, 0], // 2^32 - 1
  [0, 1], // 2^32
  [0xffffffff, 0x1fffff], // 2^53 - 1
  [0, 0x200000], // 2^53
  [0, 0x80000000], // 2^63, or INT64_MIN
  [0xffffffff, 0xffffffff], // 2^64 - 1, or -1
  [0xffffffea, 0xffffffff], // -22
  [0x80000000, 0xffffffff], // INT32_MIN
];

/** A value of `kind` as (lo, hi) words. */
function value(rng: Rng, g: GuestView, kind: Kind, sub: readonly number[] = []): [number, number] {
  if (kind !== 'any' && rng.chance(0.85)) {
    const small = (xs: readonly number[]): [number, number] => [rng.pick(xs) >>> 0, 0];
    switch (kind) {
      case 'sub':
        return small(sub.length ? sub : [0]);
      case 'dom':
        return small([g.self, g.other, DOMID_SELF, DOMID_MAX, DOMID_MAX + 1, 0, rng.int(64)]);
      case 'port':
        return small([...g.ports, 0, rng.range(1, 12), NR_EVENT_CHANNELS - 1, NR_EVENT_CHANNELS]);
      case 'vcpu':
        return small([0, 0, 1, 2, 4]);
      case 'virq':
        return small([0, 1, 2, 16, NR_VIRQS - 1, NR_VIRQS]);
      case 'ptr':
        return [pointer(rng, g, rng.pick([4, 16, 24, 64, 4096])), 0];
      case 'count':
        return small([0, 1, 4, 8, 20, 255, 256, 257, 4096, LIMITS.console_bytes + 1]);
      case 'reason':
        return small([...Object.values(SHUTDOWN), 4, 255]);
      case 'ns':
        return rng.bool() ? [rng.u32(), rng.int(0x40000)] : small([0, 1, 1e9]);
    }
  }
  if (rng.chance(0.5)) return rng.pick(HUGE);
  return [rng.u32(), rng.chance(0.5) ? 0 : rng.u32()];
}

/** Arguments for call `nr` into `words`: its template, or six of anything. */
function fill(rng: Rng, g: GuestView, nr: number, words: Uint32Array): void {
  const subs = SUBOPS[nr] ?? [];
  const sub = subs.length && rng.chance(0.9) ? rng.pick(subs) : rng.u32();
  const t = TEMPLATES[nr];
  const kinds: readonly Kind[] = Array.isArray(t)
    ? t
    : ((t as Record<number, Kind[]>)?.[sub] ?? ['sub']);
  for (let k = 0; k < 6; k++) {
    const [lo, hi] =
      k === 0 && kinds[0] === 'sub' ? [sub >>> 0, 0] : value(rng, g, kinds[k] ?? 'any', subs);
    words[2 * k] = lo;
    words[2 * k + 1] = hi;
  }
  // Ending the domain stops the calls after it: keep it rare.
  if (nr === H.sched_op && sub === SCHEDOP.shutdown && rng.chance(0.8)) words[0] = SCHEDOP.yield;
}

function le64(dv: DataView, at: number, lo: number, hi: number): void {
  if (at < 0 || at + 8 > dv.byteLength) return;
  dv.setUint32(at, lo, true);
  dv.setUint32(at + 4, hi, true);
}

/** A multicall list at `gpa`: random calls, nested multicalls (all of them if `nested`), u64 op numbers. */
function multicallList(rng: Rng, g: GuestView, gpa: number, n: number, nested: boolean): void {
  const words = new Uint32Array(12);
  for (let i = 0; i < n; i++) {
    const e = gpa + i * MULTICALL_ENTRY_SIZE;
    const op = nested || rng.chance(0.15) ? H.multicall : rng.pick(CALLS);
    fill(rng, g, op, words);
    if (words[0] === SCHEDOP.shutdown && op === H.sched_op) words[0] = SCHEDOP.yield;
    le64(g.dv, e + MULTICALL_ENTRY.op, op, !nested && rng.chance(0.05) ? rng.u32() : 0);
    le64(g.dv, e + MULTICALL_ENTRY.result, rng.u32(), rng.u32());
    for (let k = 0; k < 6; k++)
      le64(g.dv, e + MULTICALL_ENTRY.args + 8 * k, words[2 * k], words[2 * k + 1]);
  }
}

/** A multicall of multicalls just written: every entry's result must be -EINVAL. */
export interface NestedList {
  gpa: number;
  n: number;
}

/** A random call; the structs its pointers name are written into guest memory first. */
export function randomCall(rng: Rng, g: GuestView): { call: Call; nested: NestedList | null } {
  const words = new Uint32Array(12);
  const r = rng.int(10);
  const nr =
    r < 7 ? rng.pick(CALLS) : r === 7 ? rng.int(64) : r === 8 ? rng.range(64, 300) : rng.u32() | 0;
  fill(rng, g, nr, words);
  let nested: NestedList | null = null;
  if (nr === H.multicall && rng.chance(0.8)) {
    const n = rng.chance(0.9)
      ? rng.range(0, 12)
      : rng.pick([LIMITS.multicall_entries, LIMITS.multicall_entries + 1]);
    const gpa = pointer(rng, g, n * MULTICALL_ENTRY_SIZE) & ~(rng.chance(0.9) ? 7 : 0);
    const only = rng.chance(0.2);
    multicallList(rng, g, gpa, n, only);
    words.set([gpa, 0, n, 0]);
    if (only && gpa + n * MULTICALL_ENTRY_SIZE <= g.bytes) nested = { gpa, n };
  } else if (nr === H.sched_op && words[0] === SCHEDOP.poll) {
    const n = words[4];
    for (let i = 0, at = words[2]; i < Math.min(n, LIMITS.poll_ports); i++, at += 4)
      if (at + 4 <= g.bytes) g.dv.setUint32(at, value(rng, g, 'port')[0], true);
  } else if (nr === H.memory_op && words[0] === XENMEM.memory_map) {
    const at = words[2];
    le64(g.dv, at, rng.pick([0, 1, 2, 64, 65, rng.u32()]), 0);
    le64(g.dv, at + 8, pointer(rng, g, 48), rng.chance(0.9) ? 0 : rng.u32());
  }
  return { call: { nr, words }, nested };
}
