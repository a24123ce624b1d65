// The driver half, in its own worker: fill a request buffer, offer it with a
// writable reply buffer, kick when the device asked for it (EVENT_IDX),
// reclaim what the device used and check its answer.
import { parentPort, workerData } from 'node:worker_threads';
import { DOORBELL_STRIDE, Doorbell, DriverQueue, GuestMemory } from '@pvkit/virtio-ring';
import {
  checksum,
  PEER_TIMEOUT_MS,
  REPLY_BYTES,
  replyAt,
  requestAt,
  type SideData,
  SPIN,
} from './layout.ts';

const d = workerData as SideData;
const mem = new GuestMemory(d.memory);
const q = new DriverQueue<number>(mem, d.queue, { eventIdx: true });
const kick = new Doorbell(d.bells, 0);
const irq = new Doorbell(d.bells, DOORBELL_STRIDE);

const free = Array.from({ length: d.slots }, (_, i) => i);
const expected = new Uint32Array(d.slots);
let sent = 0;
let done = 0;
let wrong = 0;
let kicks = 0;
const t0 = performance.now();

while (done < d.count) {
  let added = 0;
  while (sent < d.count && free.length > 0) {
    const slot = free.pop() as number;
    const req = mem.bytes(requestAt(d, slot), d.bufSize);
    for (let i = 0; i < req.length; i++) req[i] = (sent * 31 + i) & 0xff;
    expected[slot] = checksum(req);
    const ok = q.add(
      [{ addr: requestAt(d, slot), len: d.bufSize }],
      [{ addr: replyAt(d, slot), len: REPLY_BYTES }],
      slot,
    );
    if (!ok) throw new Error('descriptor table full: more slots than the ring holds');
    sent++;
    added++;
  }
  if (added > 0) {
    q.publish();
    if (q.kickNeeded()) {
      kick.ring();
      kicks++;
    }
  }
  let reclaimed = 0;
  for (let slot = q.reclaim(); slot !== undefined; slot = q.reclaim()) {
    if (q.reclaimedLen !== 4 || mem.readU32(replyAt(d, slot)) !== expected[slot]) wrong++;
    free.push(slot);
    done++;
    reclaimed++;
  }
  // Nothing came back: ask for an interrupt, re-check (no lost wake-up), then sleep.
  if (reclaimed === 0 && added === 0 && !q.enableInterrupts())
    if (!irq.wait(SPIN, PEER_TIMEOUT_MS))
      throw new Error(`device silent for ${PEER_TIMEOUT_MS} ms`);
}

parentPort?.postMessage({
  side: 'driver',
  moved: done,
  wrong,
  kicks,
  seconds: (performance.now() - t0) / 1000,
});
