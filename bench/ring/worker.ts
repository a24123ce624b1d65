// One side of the ring benchmark (like Linux tools/virtio/ringtest): the
// driver adds one-buffer chains and publishes avail.idx once per batch,
// reclaiming when the ring is full; the device pops and publishes used.idx
// once per batch or when the ring runs dry. In notify mode both sides use
// EVENT_IDX and sleep on spin-then-wait doorbells when they have no work.
import { parentPort } from 'node:worker_threads';
import {
  DeviceQueue,
  Doorbell,
  DriverQueue,
  GuestMemory,
  layoutSplitQueue,
} from '../../packages/virtio-ring/src/index.ts';
import { BUF_BASE, BUF_LEN, CTL, type RingResult, type RingRun, STUCK_MS } from './protocol.ts';

function startTogether(ctl: Int32Array): void {
  Atomics.add(ctl, CTL.READY, 1);
  while (Atomics.load(ctl, CTL.READY) < 2) {
    // both sides spin so that neither starts before the other is hot
  }
}

function sleepOn(bell: Doorbell, spin: number): void {
  if (!bell.wait(spin, STUCK_MS)) throw new Error(`no doorbell for ${STUCK_MS} ms: stuck`);
}

function runDriver(run: RingRun): RingResult {
  const mem = new GuestMemory(run.mem);
  const ctl = new Int32Array(run.ctl);
  const notify = run.mode === 'notify';
  const q = new DriverQueue<number>(mem, layoutSplitQueue(0, run.ringSize, 128), {
    eventIdx: notify,
  });
  const kick = new Doorbell(ctl, CTL.KICK);
  const irq = new Doorbell(ctl, CTL.IRQ);
  const { count, batch, ringSize, spin } = run;
  const mask = ringSize - 1;
  let started = 0;
  let completed = 0;
  let sum = 0;
  let kicks = 0;
  let sleeps = 0;
  startTogether(ctl);
  const t0 = process.hrtime.bigint();
  if (notify) q.disableInterrupts();
  while (completed < count) {
    const room = Math.min(batch, count - started, q.numFree);
    if (room > 0) {
      for (let k = 0; k < room; k++) {
        q.addBuffer(BUF_BASE + (started & mask) * BUF_LEN, BUF_LEN, true, started);
        started++;
      }
      q.publish();
      if (notify && q.kickNeeded()) {
        kick.ring();
        kicks++;
      }
      if (q.numFree > 0 && started < count) continue;
    }
    // Full (or everything started): take back what the device finished.
    let got = 0;
    for (let t = q.reclaim(); t !== undefined; t = q.reclaim()) {
      sum += t;
      if (q.reclaimedLen !== BUF_LEN) throw new Error(`token ${t}: len ${q.reclaimedLen}`);
      got++;
    }
    completed += got;
    if (got === 0 && notify && !q.enableInterrupts()) {
      sleeps++;
      sleepOn(irq, spin);
      q.disableInterrupts();
    } else if (got === 0 && notify) {
      q.disableInterrupts();
    }
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  // Every token came back exactly once: 0 + 1 + ... + (count - 1).
  if (sum !== (count * (count - 1)) / 2)
    throw new Error(`token sum ${sum}, want ${(count * (count - 1)) / 2}`);
  return { role: 'driver', elapsedNs, chains: completed, kicks, interrupts: 0, sleeps };
}

function runDevice(run: RingRun): RingResult {
  const mem = new GuestMemory(run.mem);
  const ctl = new Int32Array(run.ctl);
  const notify = run.mode === 'notify';
  const q = new DeviceQueue(mem, layoutSplitQueue(0, run.ringSize, 128), { eventIdx: notify });
  const kick = new Doorbell(ctl, CTL.KICK);
  const irq = new Doorbell(ctl, CTL.IRQ);
  const { count, batch, spin } = run;
  const chain = q.chain;
  let done = 0;
  let pending = 0;
  let interrupts = 0;
  let sleeps = 0;
  startTogether(ctl);
  const t0 = process.hrtime.bigint();
  if (notify) q.disableNotifications();
  while (done < count) {
    const head = q.popHead();
    if (head >= 0) {
      q.push(head, chain.writableLen);
      done++;
      if (++pending < batch) continue;
    } else if (pending === 0) {
      // Dry and nothing to publish: poll again, or ask for a kick and sleep.
      if (notify) {
        if (!q.enableNotifications()) {
          sleeps++;
          sleepOn(kick, spin);
        }
        q.disableNotifications();
      }
      continue;
    }
    pending = 0;
    q.publish();
    if (notify && q.interruptNeeded()) {
      irq.ring();
      interrupts++;
    }
  }
  q.publish();
  if (notify && q.interruptNeeded()) {
    irq.ring();
    interrupts++;
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  return { role: 'device', elapsedNs, chains: done, kicks: 0, interrupts, sleeps };
}

parentPort!.on('message', (run: RingRun) => {
  try {
    const r = run.role === 'driver' ? runDriver(run) : runDevice(run);
    parentPort!.postMessage({ ok: true, result: r });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.stack : String(e) });
  }
});
