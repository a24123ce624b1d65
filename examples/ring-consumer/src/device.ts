// The device half, in its own worker: pop each validated chain, sum the
// request's bytes into the reply buffer, push it to the used ring, and
// interrupt the driver only when it asked (EVENT_IDX).
import { parentPort, workerData } from 'node:worker_threads';
import {
  DeviceQueue,
  DOORBELL_STRIDE,
  Doorbell,
  GuestMemory,
  isMalformed,
  type PoppedChain,
} from '@pvkit/virtio-ring';
import { checksum, PEER_TIMEOUT_MS, type SideData, SPIN } from './layout.ts';

const d = workerData as SideData;
const mem = new GuestMemory(d.memory);
const q = new DeviceQueue(mem, d.queue, { eventIdx: true });
const kick = new Doorbell(d.bells, 0);
const irq = new Doorbell(d.bells, DOORBELL_STRIDE);

let served = 0;
let malformed = 0;
let interrupts = 0;

/** used.len: the bytes written into the driver's buffers. */
function serve(c: PoppedChain): number {
  if (isMalformed(c)) {
    malformed++;
    return 0; // give the head back, write nothing
  }
  let sum = 0;
  for (const s of c.segments)
    if (!s.writable) sum = (sum + checksum(mem.bytes(s.addr, s.len))) >>> 0;
  const reply = c.segments.find((s) => s.writable && s.len >= 4);
  if (!reply) return 0;
  mem.writeU32(reply.addr, sum);
  return 4;
}

while (served < d.count) {
  q.disableNotifications();
  let n = 0;
  for (let c = q.pop(); c !== null; c = q.pop()) {
    q.push(c.head, serve(c));
    n++;
  }
  if (n > 0) {
    q.publish();
    if (q.interruptNeeded()) {
      irq.ring();
      interrupts++;
    }
    served += n;
    continue;
  }
  // Empty: ask for kicks, re-check (no lost wake-up), then sleep.
  if (!q.enableNotifications() && !kick.wait(SPIN, PEER_TIMEOUT_MS))
    throw new Error(`driver silent for ${PEER_TIMEOUT_MS} ms`);
}

parentPort?.postMessage({ side: 'device', served, malformed, interrupts });
