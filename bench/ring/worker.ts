// One side of the ring benchmark (like Linux tools/virtio/ringtest): the
// driver adds one-buffer chains and publishes avail.idx once per batch,
// reclaiming when the ring is full; the device pops and publishes used.idx
// once per batch or when the ring runs dry. In notify mode both sides use
// EVENT_IDX and sleep on spin-then-wait doorbells when they have no work.
// bench/native/ring.c is the same loop in C.
import { parentPort, workerData } from 'node:worker_threads';
import {
  DeviceQueue,
  Doorbell,
  DriverQueue,
  GuestMemory,
  layoutSplitQueue,
  type WasmMemory,
} from '../../packages/virtio-ring/src/index.ts';
import {
  BUF_BASE,
  BUF_LEN,
  CTL,
  IDLE_YIELD_MS,
  IDLE_YIELD_POLLS,
  type RingResult,
  type RingRun,
  STUCK_MS,
} from './protocol.ts';

// Module-local copies for the hot loops: an imported binding costs one load
// more and a hole check on every use (Node 20; chain-reader.ts).
// bench/native/ring.c has them as #defines.
const BASE = BUF_BASE;
const LEN = BUF_LEN;

// The guest memory, for every run of this worker (bench/ring.ts says why).
const MEM = new GuestMemory((workerData as { memory: SharedArrayBuffer | WasmMemory }).memory);

function startTogether(ctl: Int32Array): void {
  Atomics.add(ctl, CTL.READY, 1);
  while (Atomics.load(ctl, CTL.READY) < 2) {
    // both sides spin so that neither starts before the other is hot
  }
}

/**
 * Poll mode on a machine with more runnable threads than cores: after a
 * long run of empty polls the other side is probably not running, so give
 * the core away for a moment instead of burning the whole time slice.
 */
class IdlePoller {
  polls = 0;
  yields = 0;
  private run = 0;
  private progressed = true;
  private lastProgress = Date.now();
  declare private readonly ctl: Int32Array;
  constructor(ctl: Int32Array) {
    this.ctl = ctl;
  }
  idle(): void {
    this.polls++;
    if (++this.run < IDLE_YIELD_POLLS) return;
    this.run = 0;
    this.yields++;
    Atomics.wait(this.ctl, CTL.IDLE, 0, IDLE_YIELD_MS);
    const now = Date.now();
    if (this.progressed) {
      this.progressed = false;
      this.lastProgress = now;
    } else if (now - this.lastProgress > STUCK_MS) {
      throw new Error(`no progress for ${STUCK_MS} ms: stuck`);
    }
  }
  busy(): void {
    this.run = 0;
    this.progressed = true;
  }
}

function sleepOn(bell: Doorbell, spin: number): void {
  if (!bell.wait(spin, STUCK_MS)) throw new Error(`no doorbell for ${STUCK_MS} ms: stuck`);
}

// The two inner loops of the driver live in small functions of their own,
// so that V8 inlines addBuffer() and reclaimMany() into them (a big loop
// body spends its inlining budget elsewhere). Their loop-invariant numbers
// are made int32 once, before the loop: V8 has no loop-invariant code
// motion, so a module const or an argument used in a loop is loaded and
// Smi-checked again on every turn (bench/native/ring.c has constants;
// addBatch() went from 504 to 476 instructions per chain at batch 64).
function addBatch(q: DriverQueue<number>, first: number, n: number, mask: number): void {
  const base = BASE | 0;
  const len = LEN | 0;
  const m = mask | 0;
  const end = (first + n) | 0;
  for (let seq = first; seq < end; seq++) q.addBuffer(base + (seq & m) * len, len, true, seq);
}

const tokens: number[] = Array.from({ length: 32768 }, () => 0);
const lens = new Uint32Array(32768);
function reclaimAll(q: DriverQueue<number>, tally: { sum: number }): number {
  const n = q.reclaimMany(tokens, lens);
  const len = LEN | 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (lens[i] !== len) throw new Error(`token ${tokens[i]}: len ${lens[i]}`);
    sum += tokens[i];
  }
  tally.sum += sum;
  return n;
}

function runDriver(run: RingRun): RingResult {
  const mem = MEM;
  const ctl = new Int32Array(run.ctl);
  const notify = run.mode === 'notify';
  const q = new DriverQueue<number>(mem, layoutSplitQueue(0, run.ringSize, 128), {
    eventIdx: notify,
  });
  const kick = new Doorbell(ctl, CTL.KICK);
  const irq = new Doorbell(ctl, CTL.IRQ);
  const poller = new IdlePoller(ctl);
  const { count, batch, ringSize, spin } = run;
  const mask = ringSize - 1;
  let started = 0;
  let completed = 0;
  const tally = { sum: 0 };
  let kicks = 0;
  let sleeps = 0;
  startTogether(ctl);
  const t0 = process.hrtime.bigint();
  if (notify) q.disableInterrupts();
  while (completed < count) {
    const room = Math.min(batch, count - started, q.numFree);
    if (room > 0) {
      addBatch(q, started, room, mask);
      started += room;
      q.publish();
      if (notify && q.kickNeeded()) {
        kick.ring();
        kicks++;
      }
      if (q.numFree > 0 && started < count) continue;
    }
    // Full (or everything started): take back what the device finished.
    const got = reclaimAll(q, tally);
    completed += got;
    if (got > 0) poller.busy();
    else if (!notify) poller.idle();
    else {
      if (!q.enableInterrupts()) {
        sleeps++;
        sleepOn(irq, spin);
      }
      q.disableInterrupts();
    }
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  // Every token came back exactly once: 0 + 1 + ... + (count - 1).
  if (tally.sum !== (count * (count - 1)) / 2)
    throw new Error(`token sum ${tally.sum}, want ${(count * (count - 1)) / 2}`);
  const { polls: idle, yields } = poller;
  return {
    role: 'driver',
    elapsedNs,
    chains: completed,
    kicks,
    interrupts: 0,
    sleeps,
    idle,
    yields,
  };
}

/** Pop and complete up to `batch` chains; fewer when the ring runs dry. */
function serveBatch(q: DeviceQueue, batch: number): number {
  const chain = q.chain;
  const most = batch | 0; // int32 once (addBatch() says why)
  let n = 0;
  while (n < most) {
    const head = q.popHead();
    if (head < 0) break;
    q.push(head, chain.writableLen);
    n++;
  }
  return n;
}

function runDevice(run: RingRun): RingResult {
  const mem = MEM;
  const ctl = new Int32Array(run.ctl);
  const notify = run.mode === 'notify';
  const q = new DeviceQueue(mem, layoutSplitQueue(0, run.ringSize, 128), { eventIdx: notify });
  const kick = new Doorbell(ctl, CTL.KICK);
  const irq = new Doorbell(ctl, CTL.IRQ);
  const poller = new IdlePoller(ctl);
  const { count, batch, spin } = run;
  let done = 0;
  let interrupts = 0;
  let sleeps = 0;
  startTogether(ctl);
  const t0 = process.hrtime.bigint();
  if (notify) q.disableNotifications();
  while (done < count) {
    const n = serveBatch(q, batch);
    if (n > 0) {
      // A batch served, or the ring ran dry: publish what was used.
      done += n;
      poller.busy();
      q.publish();
      if (notify && q.interruptNeeded()) {
        irq.ring();
        interrupts++;
      }
    } else if (!notify) {
      poller.idle();
    } else {
      // Dry and nothing to publish: ask for a kick and sleep.
      if (!q.enableNotifications()) {
        sleeps++;
        sleepOn(kick, spin);
      }
      q.disableNotifications();
    }
  }
  q.publish();
  if (notify && q.interruptNeeded()) {
    irq.ring();
    interrupts++;
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const { polls: idle, yields } = poller;
  return { role: 'device', elapsedNs, chains: done, kicks: 0, interrupts, sleeps, idle, yields };
}

parentPort!.on('message', (run: RingRun) => {
  try {
    const r = run.role === 'driver' ? runDriver(run) : runDevice(run);
    parentPort!.postMessage({ ok: true, result: r });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.stack : String(e) });
  }
});
