// Per-chain cost of the ring's hot paths in ONE thread, in ns: far less
// sensitive to a busy machine than `pnpm bench ring` (no cache line moves
// between cores, no partner to be descheduled). Use it for A/B runs of a
// change to the driver or device half:
//   node --import tsx bench/ring/hotpath.ts [rounds] [driver,device,both,plain]
// Cases: the library driver against a plain device loop ("driver"), the
// library device against a plain driver loop ("device"), both library halves
// ("both"), and a plain loop on each side ("plain", the floor), each with
// batch 1 and 64, ring 256, one 64-byte writable buffer per chain. Printed:
// the best round's ns per chain. count-instructions.mjs counts the same
// cases in machine instructions, which a busy machine does not blur.
import {
  DeviceQueue,
  DriverQueue,
  GuestMemory,
  layoutSplitQueue,
} from '../../packages/virtio-ring/src/index.ts';
import { BUF_BASE, BUF_LEN, memBytes } from './protocol.ts';

const N = 256;
// Module-local copies, as in worker.ts.
const BASE = BUF_BASE;
const LEN = BUF_LEN;
const CHAINS = Number(process.env.HOTPATH_CHAINS ?? 2_000_000);
const q = layoutSplitQueue(0, N, 128);
const DESC = q.desc / 4;
const AVAIL_IDX = q.avail / 2 + 1;
const AVAIL_RING = q.avail / 2 + 2;
const USED_IDX = q.used / 2 + 1;
const USED_RING = q.used / 4 + 1;

/** The plain device: take every available head, give it back with BUF_LEN. */
function plainDevice(u16: Uint16Array, u32: Uint32Array, st: { last: number }): number {
  const idx = Atomics.load(u16, AVAIL_IDX);
  let last = st.last;
  const n = (idx - last) & 0xffff;
  for (let k = 0; k < n; k++) {
    const head = u16[AVAIL_RING + (last & (N - 1))];
    const len = u32[DESC + head * 4 + 2];
    const at = USED_RING + 2 * (last & (N - 1));
    u32[at] = head;
    u32[at + 1] = len;
    last = (last + 1) & 0xffff;
  }
  st.last = last;
  Atomics.store(u16, USED_IDX, last);
  return n;
}

/** The plain driver: no checks, no free list (head = ring slot), tokens in a plain array. */
class PlainDriver {
  next = 0;
  lastUsed = 0;
  readonly tokens = new Float64Array(N);
  declare readonly u16: Uint16Array;
  declare readonly u32: Uint32Array;
  constructor(u16: Uint16Array, u32: Uint32Array) {
    this.u16 = u16;
    this.u32 = u32;
  }
  add(seq: number): void {
    const head = this.next & (N - 1);
    const at = DESC + head * 4;
    this.u32[at] = BASE + (seq & (N - 1)) * LEN;
    this.u32[at + 1] = 0;
    this.u32[at + 2] = LEN;
    this.u32[at + 3] = 2;
    this.tokens[head] = seq;
    this.u16[AVAIL_RING + head] = head;
    this.next = (this.next + 1) & 0xffff;
  }
  publish(): void {
    Atomics.store(this.u16, AVAIL_IDX, this.next);
  }
  reclaim(): number {
    const idx = Atomics.load(this.u16, USED_IDX);
    let sum = 0;
    for (; this.lastUsed !== idx; this.lastUsed = (this.lastUsed + 1) & 0xffff) {
      const at = USED_RING + 2 * (this.lastUsed & (N - 1));
      if (this.u32[at + 1] !== LEN) throw new Error('len');
      sum += this.tokens[this.u32[at]];
    }
    return sum;
  }
}

type Case = (batch: number) => number;

// HOTPATH_MEMORY=sab: a plain SharedArrayBuffer, whose ring indexes go
// through Atomics (the default is GuestMemory.allocate(): WebAssembly's).
const SAB = process.env.HOTPATH_MEMORY === 'sab';

let kept: GuestMemory | null = null;
function fresh(): { mem: GuestMemory; u16: Uint16Array; u32: Uint32Array } {
  const bytes = memBytes(N);
  kept ??= GuestMemory.allocate(bytes, SAB ? 'sab' : 'auto');
  const mem = kept;
  mem.u8.fill(0);
  return { mem, u16: mem.u16, u32: mem.u32 };
}

function check(sum: number): void {
  if (sum !== (CHAINS * (CHAINS - 1)) / 2) throw new Error(`token sum ${sum}`);
}

const tokens: number[] = new Array(N).fill(0);
const lens = new Uint32Array(N);

/** Reclaim every used chain, check its length, and return the sum of its tokens. */
function reclaimSum(d: DriverQueue<number>): number {
  const n = d.reclaimMany(tokens, lens);
  const len = LEN | 0; // int32 once (addBatch() says why)
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (lens[i] !== len) throw new Error('len');
    sum += tokens[i];
  }
  return sum;
}

// Each side's round is a function of its own, as in bench/ring/worker.ts,
// and so is each timed loop (it gets the queues built): V8 then inlines
// the library's hot methods into these, whatever a constructor costs.
function addBatch(d: DriverQueue<number>, first: number, n: number): void {
  // int32 once, before the loop, as in worker.ts's addBatch(), which says why.
  const base = BASE | 0;
  const len = LEN | 0;
  const mask = (N - 1) | 0;
  const end = (first + n) | 0;
  for (let seq = first; seq < end; seq++) d.addBuffer(base + (seq & mask) * len, len, true, seq);
  d.publish();
}

function serve(dev: DeviceQueue): void {
  const chain = dev.chain;
  for (let head = dev.popHead(); head >= 0; head = dev.popHead()) dev.push(head, chain.writableLen);
  dev.publish();
}

function plainAdd(p: PlainDriver, first: number, n: number): void {
  for (let seq = first; seq < first + n; seq++) p.add(seq);
  p.publish();
}

/** Run CHAINS chains in rounds of `batch` and return the ms taken. */
function timed(round: (seq: number) => number, batch: number): number {
  let sum = 0;
  const t0 = performance.now();
  for (let seq = 0; seq < CHAINS; seq += batch) sum += round(seq);
  const t = performance.now() - t0;
  check(sum);
  return t;
}

const cases: Record<string, Case> = {
  driver(batch) {
    const { mem, u16, u32 } = fresh();
    const d = new DriverQueue<number>(mem, q);
    const st = { last: 0 };
    return timed((seq) => {
      addBatch(d, seq, batch);
      plainDevice(u16, u32, st);
      return reclaimSum(d);
    }, batch);
  },
  device(batch) {
    const { mem, u16, u32 } = fresh();
    const p = new PlainDriver(u16, u32);
    const dev = new DeviceQueue(mem, q);
    return timed((seq) => {
      plainAdd(p, seq, batch);
      serve(dev);
      return p.reclaim();
    }, batch);
  },
  both(batch) {
    const { mem } = fresh();
    const d = new DriverQueue<number>(mem, q);
    const dev = new DeviceQueue(mem, q);
    return timed((seq) => {
      addBatch(d, seq, batch);
      serve(dev);
      return reclaimSum(d);
    }, batch);
  },
  plain(batch) {
    const { u16, u32 } = fresh();
    const p = new PlainDriver(u16, u32);
    const st = { last: 0 };
    return timed((seq) => {
      plainAdd(p, seq, batch);
      plainDevice(u16, u32, st);
      return p.reclaim();
    }, batch);
  },
};

const rounds = Number(process.argv[2] ?? 5);
const only = process.argv[3];
const batches = (process.env.HOTPATH_BATCH ?? '1,64').split(',').map(Number);
const best: Record<string, number> = {};
for (let r = 0; r < rounds; r++)
  for (const [name, run] of Object.entries(cases))
    if (only === undefined || only.split(',').includes(name))
      for (const batch of batches) {
        const ns = (run(batch) * 1e6) / CHAINS;
        const key = `${name}-b${batch}`;
        best[key] = Math.min(best[key] ?? Infinity, ns);
      }
for (const [k, ns] of Object.entries(best))
  console.log(`${k.padEnd(10)} ${ns.toFixed(1)} ns/chain`);
