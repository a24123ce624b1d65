// virtqueue-device: the device half (DeviceQueue, ChainReader) against a
// hostile driver that writes random and mutated descriptor tables, indirect
// tables, avail entries and indices, and that rewrites guest memory between
// the device's calls and, through the size hook, during a chain walk.
//
// One iteration: a fresh guest and queue (sometimes a hostile queue setup),
// then 4..48 random steps of driver writes, pops, pushes, publishes and
// notification calls. DeviceHarness checks each step; see its header.
import {
  layoutSplitQueue,
  MAX_QUEUE_SIZE,
  type QueueAddresses,
  type Segment,
} from '../../packages/virtio-ring/src/index.ts';
import { DeviceHarness } from '../lib/device-harness.ts';
import { GuestPool } from '../lib/guest.ts';
import {
  type Buf,
  Bump,
  corruptDescriptor,
  distinctIndices,
  hostileAddr,
  hostileLen,
} from '../lib/ring-gen.ts';
import type { Rng } from '../lib/rng.ts';
import { check, type FuzzTarget, InvariantError } from '../lib/runner.ts';
import { count } from '../lib/stats.ts';

/** Guest sizes: page multiples and odd ends (the last bytes are not a whole u32). */
const SIZES = [4096, 4102, 16384, 16389, 65536];
const QUEUE_SIZES = [1, 2, 4, 8, 16, 32, 64, 256];

interface Setup {
  h: DeviceHarness;
  data: Bump;
  dataLo: number;
  dataHi: number;
  /** Heads offered and not popped yet (a hint: racing writes may change the ring). */
  pending: number[];
}

/**
 * The one way to reach "more than 2^32 bytes": N = 32768 descriptors of
 * 2^17 (+1) bytes each, all over the same data. Exactly 2^32 is allowed.
 */
function hugeChain(rng: Rng, pool: GuestPool): void {
  const g = pool.get(1 << 20);
  const n = MAX_QUEUE_SIZE;
  const q = layoutSplitQueue(0, n);
  const h = DeviceHarness.open(g, q, { indirect: false });
  if (h === null) throw new InvariantError('a 32768-entry queue in 1 MiB was refused');
  const over = rng.bool();
  const len = 2 ** 32 / n + (over ? 1 : 0);
  const bufs = Array.from({ length: n }, (_, k) => ({ addr: q.end, len, writable: k > n / 2 }));
  h.ring.chain(
    bufs.map((_, k) => k),
    bufs,
  );
  h.ring.offer(0);
  const r = h.pop(rng);
  check(r.t === 'chain' && (r.chain === null) === over, `a chain of ${n} x ${len} bytes: ${r.t}`);
  count(`huge chain ${over ? 'refused' : 'accepted'}`);
  h.push(0, 0);
  h.publish();
  h.checkMemory('huge chain');
}

function setup(rng: Rng, pool: GuestPool): Setup | null {
  const size = rng.pick(SIZES);
  const g = pool.get(size, rng.chance(0.5));
  const fit = QUEUE_SIZES.filter((n) => n * 64 <= size);
  let n = fit[rng.weighted(fit.map((_, i) => fit.length - i))];
  let q: QueueAddresses;
  let dataLo = 0;
  let dataHi = size;
  if (rng.chance(0.06)) {
    // What a driver can write into QueueNum / QueueDesc / QueueDriver /
    // QueueDevice: bad sizes, addresses anywhere; and, half the time, three
    // well-aligned areas that overlap each other (legal to set up: then the
    // device's used-ring writes land in the driver's rings).
    if (rng.chance(0.5)) n = rng.pick([0, 3, n * 2, MAX_QUEUE_SIZE * 2, rng.int(65536)]);
    const near = () =>
      rng.int(Math.max(1, size - 26 * n)) +
      (rng.chance(0.85) ? 0 : rng.pick([size - rng.int(64), 2 ** 32]));
    const anyAddr = (align: number) => {
      const x = near();
      return rng.chance(0.8) ? x - (x % align) : x;
    };
    q = { size: n, desc: anyAddr(16), avail: anyAddr(2), used: anyAddr(4) };
  } else {
    const align = rng.pick([16, 128]);
    const span = layoutSplitQueue(0, n, align).end;
    const base = rng.bool() ? 0 : Math.floor((size - span) / 128) * 128;
    q = layoutSplitQueue(base, n, align);
    if (base === 0) dataLo = Math.ceil(span / 16) * 16;
    else dataHi = base;
  }
  const maxSize = rng.chance(0.05) ? rng.pick([1, 2, 16]) : undefined;
  const h = DeviceHarness.open(g, q, {
    eventIdx: rng.bool(),
    indirect: rng.chance(0.7),
    maxSize,
  });
  if (h === null) return null;
  if (dataLo === 0 && dataHi === size) count('hostile queue setup accepted');
  return { h, data: new Bump(dataLo, dataHi), dataLo, dataHi, pending: [] };
}

/** A buffer somewhere sensible (or, sometimes, somewhere hostile). */
function buffer(rng: Rng, s: Setup, writable: boolean): Buf {
  const size = s.h.g.size;
  if (rng.chance(0.04)) {
    const a = hostileAddr(rng, size);
    return { addr: a.addr, hi: a.hi, len: hostileLen(rng, size, a.addr), writable };
  }
  const len = rng.pick([0, rng.range(1, 16), rng.range(1, 64), rng.range(1, 1024)]);
  const addr = s.data.alloc(len, rng.pick([1, 2, 8]));
  if (addr >= 0 && !rng.chance(0.1)) return { addr, len, writable };
  // Anywhere in data, overlaps being the driver's business; now and then
  // ending on the very last byte of memory, rings or not.
  const end = rng.chance(0.1) ? size : s.dataHi;
  const l = Math.min(len, end - s.dataLo);
  return {
    addr: end - l - (rng.chance(0.3) ? 0 : rng.int(end - s.dataLo - l + 1)),
    len: l,
    writable,
  };
}

/** A head the device does not hold and no avail entry names yet, or -1. */
function freeHead(rng: Rng, s: Setup): number {
  const n = s.h.n;
  for (let tries = 0; tries < 8; tries++) {
    const i = rng.int(n);
    if (!s.h.held.has(i) && !s.pending.includes(i)) return i;
  }
  return -1;
}

/** Write one chain (direct or indirect, perhaps corrupted) and offer it. */
function offerChain(rng: Rng, s: Setup): void {
  const { h } = s;
  const ring = h.ring;
  const n = h.n;
  const indirect = rng.chance(0.3);
  const max = indirect ? Math.min(n + 1, 18) : Math.min(n, 8);
  const count = Math.min(max, 1 + Math.floor(-Math.log2(1 - rng.u32() / 2 ** 32 + 1e-12)));
  const readable = rng.int(count + 1);
  // A well-behaved driver offers only heads it owns; this one mostly does.
  const head = freeHead(rng, s);
  if (head < 0) return;
  const bufs: Buf[] = [];
  for (let k = 0; k < count; k++) bufs.push(buffer(rng, s, k >= readable));
  let table = ring.q.desc;
  let touched: number[];
  if (indirect) {
    table = s.data.alloc(count * 16, rng.pick([16, 16, 4, 1]));
    if (table < 0) table = s.dataLo;
    ring.indirect(head, table, bufs);
    touched = bufs.map((_, k) => k);
    if (rng.chance(0.1))
      ring.g.w32(ring.q.desc + head * 16 + 8, rng.pick([0, 8, 17, count * 16 + 16]));
  } else {
    touched = [head, ...distinctIndices(rng, n, count).filter((i) => i !== head)].slice(0, count);
    ring.chain(touched, bufs);
  }
  if (rng.chance(0.12)) corruptDescriptor(rng, ring, table, rng.pick(touched), n);
  if (rng.chance(0.05)) corruptDescriptor(rng, ring, ring.q.desc, head, n);
  // Offer it: usually once; sometimes a head the device holds, a junk head, or unpublished.
  const offered = rng.chance(0.03) ? rng.pick([n, rng.int(65536), ...h.held.keys()]) : head;
  ring.offer(offered, !rng.chance(0.15));
  s.pending.push(offered);
}

/** A racing write: any byte, half-word or word of guest memory, biased to the rings. */
function raceWrite(rng: Rng, s: Setup): void {
  const { g, ring } = s.h;
  const q = ring.q;
  const region = rng.weighted([4, 2, 1, 3, 0.2]);
  const size = g.size;
  const pickIn = (lo: number, len: number) => Math.min(size - 4, lo + rng.int(Math.max(1, len)));
  const at = [
    () => pickIn(q.desc, 16 * s.h.n),
    () => pickIn(q.avail + 4, 2 * s.h.n),
    () => pickIn(q.used, 8 * s.h.n + 6),
    () => pickIn(s.dataLo, s.dataHi - s.dataLo),
    () => ring.availIdxAddr,
  ][region]();
  if (at < 0) return;
  const v = rng.u32();
  if (region === 4) ring.setAvailIdx(rng.chance(0.5) ? ring.availIdx + rng.range(1, 3) : v);
  else if (region === 1 && rng.chance(0.7))
    g.w16(at - (at & 1), rng.int(s.h.n)); // another head
  else if (rng.bool()) g.w8(at, v & 0xff);
  else g.w16(at - (at & 1), v & 0xffff);
}

/** The device's work on a chain: fill its writable buffers (one byte too far with the planted bug). */
function deviceWrites(rng: Rng, s: Setup, segs: readonly Segment[], offByOne: boolean): void {
  const g = s.h.g;
  for (const seg of segs) {
    if (!seg.writable || seg.len === 0) continue;
    g.u8.fill(rng.u32() & 0xff, seg.addr, seg.addr + seg.len + (offByOne ? 1 : 0));
    g.accept(seg.addr, seg.len);
  }
}

function step(rng: Rng, s: Setup, segsOf: Map<number, readonly Segment[]>, offByOne: boolean) {
  const h = s.h;
  switch (rng.weighted([30, 30, 16, 8, 6, 10])) {
    case 0:
      offerChain(rng, s);
      return 'offer';
    case 1: {
      const racing = rng.chance(0.25);
      const race = racing
        ? () => {
            if (!rng.chance(0.3)) return false;
            raceWrite(rng, s);
            return true;
          }
        : null;
      const r = h.pop(rng, race);
      if (r.t === 'chain') s.pending.splice(s.pending.indexOf(r.head) >>> 0, 1);
      if (r.t === 'chain') segsOf.set(r.head, r.chain?.segments ?? []);
      return 'pop';
    }
    case 2: {
      if (h.held.size === 0) return 'push (none held)';
      const heads = [...h.held.keys()];
      const head = heads[rng.int(heads.length)];
      const w = h.held.get(head) ?? 0;
      deviceWrites(rng, s, segsOf.get(head) ?? [], offByOne);
      h.push(head, rng.chance(0.3) ? w : rng.int(w + 1));
      return 'push';
    }
    case 3:
      h.publish();
      return 'publish';
    case 4:
      h.notify(rng);
      return 'notify';
    default:
      raceWrite(rng, s);
      return 'race';
  }
}

export const virtqueueDevice: FuzzTarget = {
  name: 'virtqueue-device',
  about: 'DeviceQueue + ChainReader vs a hostile driver racing between and during calls',
  injections: ['off-by-one'],
  prepare(opts) {
    const pool = new GuestPool();
    const offByOne = opts.inject === 'off-by-one';
    return (rng) => {
      if (rng.chance(0.001)) return hugeChain(rng, pool);
      const s = setup(rng, pool);
      if (s === null) return;
      const segsOf = new Map<number, readonly Segment[]>();
      const steps = rng.range(4, 48);
      for (let k = 0; k < steps; k++) {
        const what = step(rng, s, segsOf, offByOne);
        s.h.checkMemory(`step ${k} (${what})`);
      }
      // The device never leaks a head: everything held goes back (unless the queue broke).
      if (s.h.broken === null) {
        for (const [head, w] of s.h.held) {
          deviceWrites(rng, s, segsOf.get(head) ?? [], offByOne);
          s.h.push(head, rng.int(w + 1));
        }
        s.h.publish();
        s.h.checkMemory('after the final publish');
      }
    };
  },
};
