// virtqueue-diff: a well-behaved DriverQueue and the DeviceQueue on one
// queue, through random interleavings of every call either side makes (the
// fuzz cousin of the ring's property tests, over more sizes and longer runs,
// with buffer contents checked end to end). No racing here: every token
// must come back exactly once, with the length the device reported, each
// chain must reach the device intact and in order, a side that went to
// sleep must be woken before work waits for it, and nothing past guest
// memory may change. Now and then a run starts just short of the 16-bit
// index wrap.
import {
  DeviceQueue,
  DriverQueue,
  isMalformed,
  layoutSplitQueue,
  type Segment,
} from '../../packages/virtio-ring/src/index.ts';
import { type FuzzGuest, GuestPool } from '../lib/guest.ts';
import type { Rng } from '../lib/rng.ts';
import { check, type FuzzTarget } from '../lib/runner.ts';
import { count } from '../lib/stats.ts';

const SLOT = 512; // guest bytes per outstanding chain: at most 8 buffers of 64 bytes
const QUEUE_SIZES = [1, 2, 4, 8, 16, 64, 256];

interface Chain {
  token: number;
  slot: number;
  segments: Segment[];
  writableLen: number;
  /** The device's fill byte base for this chain's writable bytes, once pushed. */
  nonce: number;
}

interface Pair {
  g: FuzzGuest;
  drv: DriverQueue<number>;
  dev: DeviceQueue;
  n: number;
  dataBase: number;
}

function makePair(rng: Rng, pool: GuestPool): Pair {
  const n = rng.pick(QUEUE_SIZES);
  const eventIdx = rng.bool();
  const indirect = rng.bool();
  const q = layoutSplitQueue(0, n, rng.pick([16, 128]));
  const entries = Math.min(n, rng.pick([2, 4, 8]));
  const tables = Math.ceil(q.end / 16) * 16;
  const dataBase = tables + n * entries * 16;
  const g = pool.get(dataBase + n * SLOT + rng.int(2) * 3); // odd sizes too
  const drv = new DriverQueue<number>(g.mem, q, {
    eventIdx,
    indirect: indirect ? { addr: tables, maxEntries: entries } : undefined,
  });
  const dev = new DeviceQueue(g.mem, q, { eventIdx, indirect });
  return { g, drv, dev, n, dataBase };
}

/** Move `cycles` one-buffer chains through both halves: brings the indices near 65536. */
function fastForward(p: Pair, cycles: number): void {
  for (let i = 0; i < cycles; i++) {
    p.drv.addBuffer(p.dataBase, 1, true, -1);
    p.drv.publish();
    p.dev.push(p.dev.popHead(), 1);
    p.dev.publish();
    check(p.drv.reclaim() === -1, 'fast-forward lost a token');
  }
}

const readByte = (c: Chain, k: number, i: number) => (c.token * 131 + k * 17 + i) & 0xff;
const writeByte = (c: Chain, i: number) => (c.nonce + i * 3) & 0xff;

function run(rng: Rng, p: Pair): void {
  const { g, drv, dev, n } = p;
  const freeSlots = Array.from({ length: n }, (_, i) => i);
  const added: Chain[] = []; // added, not published
  const published: Chain[] = []; // visible to the device, not popped
  const held = new Map<number, Chain>(); // popped: head -> chain
  const pushed: { c: Chain; len: number }[] = []; // pushed, not published
  const used: { c: Chain; len: number }[] = []; // published by the device, not reclaimed
  let nextToken = 0;
  let completed = 0;
  let devSleeping = false;
  let drvSleeping = false;

  const driverPublish = () => {
    drv.publish();
    const fresh = added.length > 0;
    published.push(...added.splice(0));
    const kick = drv.kickNeeded();
    if (kick) devSleeping = false;
    check(!(devSleeping && fresh), 'lost wake-up: the device sleeps, the driver did not kick');
    count(kick ? 'kick' : 'kick suppressed');
  };
  const devicePublish = () => {
    dev.publish();
    const fresh = pushed.length > 0;
    used.push(...pushed.splice(0));
    const irq = dev.interruptNeeded();
    if (irq) drvSleeping = false;
    check(!(drvSleeping && fresh), 'lost wake-up: the driver sleeps, the device did not interrupt');
  };
  const add = () => {
    if (freeSlots.length === 0) return;
    const total = rng.range(1, Math.min(n, 8));
    const readable = rng.int(total + 1);
    const slot = freeSlots[freeSlots.length - 1];
    const c: Chain = { token: nextToken, slot, segments: [], writableLen: 0, nonce: 0 };
    for (let k = 0; k < total; k++) {
      const addr = p.dataBase + slot * SLOT + k * 64;
      const seg = { addr, len: rng.int(65), writable: k >= readable };
      c.segments.push(seg);
      if (seg.writable) c.writableLen += seg.len;
      else for (let i = 0; i < seg.len; i++) g.u8[addr + i] = readByte(c, k, i);
    }
    const r = c.segments.filter((s) => !s.writable);
    const w = c.segments.filter((s) => s.writable);
    if (!drv.add(r, w, c.token)) return void count('add: ring full');
    freeSlots.pop();
    nextToken++;
    added.push(c);
  };
  const pop = () => {
    const got = dev.pop();
    if (published.length === 0) return check(got === null, 'pop found a chain nobody published');
    const want = published.shift() as Chain;
    check(got !== null && !isMalformed(got), () => `pop of a good chain: ${JSON.stringify(got)}`);
    check(!held.has(got.head), `head ${got.head} popped twice`);
    const segs = got.segments;
    check(JSON.stringify(segs) === JSON.stringify(want.segments), 'the chain arrived changed');
    segs.forEach((s, k) => {
      if (s.writable) return;
      for (let i = 0; i < s.len; i++)
        check(g.u8[s.addr + i] === readByte(want, k, i), `token ${want.token}: data changed`);
    });
    held.set(got.head, want);
  };
  const push = (head: number, c: Chain) => {
    const len = rng.chance(0.5) ? c.writableLen : rng.int(c.writableLen + 1);
    c.nonce = rng.u32() & 0xff;
    let off = 0;
    for (const s of c.segments)
      if (s.writable) for (let i = 0; i < s.len; i++) g.u8[s.addr + i] = writeByte(c, off++);
    dev.push(head, len);
    held.delete(head);
    pushed.push({ c, len });
  };
  const reclaim = () => {
    const token = drv.reclaim();
    if (used.length === 0) return check(token === undefined, 'reclaim of nothing gave a token');
    const { c, len } = used.shift() as { c: Chain; len: number };
    check(token === c.token, `reclaim gave ${token}, expected token ${c.token}`);
    check(drv.reclaimedLen === len, `reclaimed len ${drv.reclaimedLen}, device said ${len}`);
    let off = 0;
    for (const s of c.segments) {
      for (let i = 0; s.writable && i < s.len && off < len; i++, off++)
        check(g.u8[s.addr + i] === writeByte(c, off), `token ${c.token}: written data lost`);
    }
    freeSlots.push(c.slot);
    completed++;
  };

  const steps = rng.range(20, 300);
  for (let k = 0; k < steps; k++) {
    switch (rng.weighted([6, 3, 5, 4, 2, 4, 1, 1, 1])) {
      case 0:
        if (!drvSleeping) add();
        break;
      case 1:
        if (!drvSleeping) driverPublish();
        break;
      case 2:
        if (!devSleeping) pop();
        break;
      case 3:
        if (!devSleeping && held.size > 0) {
          const heads = [...held.keys()];
          const head = heads[rng.int(heads.length)];
          push(head, held.get(head) as Chain);
        }
        break;
      case 4:
        if (!devSleeping) devicePublish();
        break;
      case 5:
        if (!drvSleeping) reclaim();
        break;
      case 6: // the device sleeps only if its re-check finds nothing
        if (devSleeping) break;
        if (dev.enableNotifications()) dev.disableNotifications();
        else devSleeping = published.length === 0 || fail('device re-check missed entries');
        break;
      case 7:
        if (drvSleeping) break;
        if (drv.enableInterrupts()) drv.disableInterrupts();
        else drvSleeping = used.length === 0 || fail('driver re-check missed entries');
        break;
      default: // a side that polls asks not to be notified (only an awake side can)
        if (rng.bool()) {
          if (!devSleeping) dev.disableNotifications();
        } else if (!drvSleeping) drv.disableInterrupts();
    }
    check(dev.inFlight === held.size, `device inFlight ${dev.inFlight} != ${held.size}`);
    const outstanding = added.length + published.length + held.size + pushed.length + used.length;
    check(
      drv.outstanding === outstanding,
      `driver outstanding ${drv.outstanding} != ${outstanding}`,
    );
  }
  // Drain: everything added comes back exactly once.
  driverPublish();
  while (published.length > 0) pop();
  for (const [head, c] of held) push(head, c);
  devicePublish();
  while (used.length > 0) reclaim();
  check(drv.reclaim() === undefined, 'a token came back twice');
  check(completed === nextToken, `${completed} of ${nextToken} tokens came back`);
  check(drv.numFree === n && drv.outstanding === 0, 'descriptors leaked');
  count('tokens completed', completed);
  g.checkGuard('after the drain');
}

function fail(message: string): never {
  check(false, message);
}

export const virtqueueDiff: FuzzTarget = {
  name: 'virtqueue-diff',
  about: 'DriverQueue vs DeviceQueue, random interleavings: every token back exactly once',
  prepare() {
    const pool = new GuestPool();
    return (rng) => {
      const p = makePair(rng, pool);
      if (rng.chance(0.002)) {
        fastForward(p, 65536 - rng.int(4 * p.n));
        count('runs across the 16-bit wrap');
      }
      run(rng, p);
    };
  },
};
