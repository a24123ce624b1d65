// One side of the cross-thread test: a real worker thread running the
// driver or the device half of one queue. Each chain carries a 32-byte
// request (sequence number, pseudo-random bytes, checksum) the device
// verifies, and a 16-byte response the device writes and the driver
// verifies. Every wait is bounded: a stuck side throws.
import { parentPort, workerData } from 'node:worker_threads';
import { DeviceQueue, Doorbell, DriverQueue, GuestMemory, isMalformed } from '../../src/index.ts';

import {
  CTL_IDLE,
  CTL_IRQ,
  CTL_KICK,
  CTL_READY,
  REQ,
  RESP,
  type SideConfig,
  type SideResult,
} from './ring-protocol.ts';

/** FNV-1a over guest bytes. */
function fnv(u8: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + len; i++) h = Math.imul(h ^ u8[i], 0x01000193);
  return h >>> 0;
}

function fillRequest(mem: GuestMemory, at: number, seq: number): void {
  const v = mem.view;
  v.setUint32(at, seq, true);
  let x = (seq * 2654435761) >>> 0;
  for (let i = 4; i < REQ - 4; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v.setUint32(at + i, x >>> 0, true);
  }
  v.setUint32(at + REQ - 4, fnv(mem.u8, at, REQ - 4), true);
}

function run(c: SideConfig): SideResult {
  const mem = new GuestMemory(c.mem);
  const ctl = new Int32Array(c.ctl);
  const sleep = c.mode === 'sleep';
  const deadline = Date.now() + c.deadlineMs;
  const kick = new Doorbell(ctl, CTL_KICK);
  const irq = new Doorbell(ctl, CTL_IRQ);
  let spins = 0;
  // A poller with nothing to do checks the deadline now and then and, as
  // tests run beside other tests on few cores, yields for 20 us every 256
  // empty polls so that the other side can run (a bare spin would burn its
  // whole time slice while the side it waits for is not scheduled).
  const stillInTime = () => {
    if ((++spins & 0xff) !== 0) return;
    Atomics.wait(ctl, CTL_IDLE, 0, 0.02);
    if ((spins & 0xffff) === 0 && Date.now() > deadline)
      throw new Error(`${c.role}: stuck past ${c.deadlineMs} ms`);
  };
  const waitFor = (bell: Doorbell) => {
    if (!bell.wait(200, 2000)) throw new Error(`${c.role}: no doorbell for 2 s`);
    if (Date.now() > deadline) throw new Error(`${c.role}: past the deadline`);
  };
  const r: SideResult = { chains: 0, seqSum: 0, sleeps: 0, notifications: 0 };
  Atomics.add(ctl, CTL_READY, 1);
  while (Atomics.load(ctl, CTL_READY) < 2) stillInTime();

  if (c.role === 'driver') {
    const q = new DriverQueue<number>(mem, c.queue, {
      eventIdx: sleep,
      indirect: c.indirect ?? undefined,
    });
    const free = Array.from({ length: c.slots }, (_, i) => i);
    const seqOf = new Float64Array(c.slots);
    const slotAt = (slot: number) => c.dataBase + slot * (REQ + RESP);
    let started = 0;
    if (sleep) q.disableInterrupts();
    while (r.chains < c.count) {
      let added = 0;
      while (started < c.count && free.length > 0) {
        const slot = free[free.length - 1];
        const at = slotAt(slot);
        fillRequest(mem, at, started);
        if (!q.add([{ addr: at, len: REQ }], [{ addr: at + REQ, len: RESP }], slot)) break;
        free.pop();
        seqOf[slot] = started++;
        if (++added === 16) break;
      }
      q.publish();
      if (sleep && q.kickNeeded()) {
        kick.ring();
        r.notifications++;
      }
      let got = 0;
      for (let slot = q.reclaim(); slot !== undefined; slot = q.reclaim()) {
        const at = slotAt(slot) + REQ;
        const seq = seqOf[slot];
        if (q.reclaimedLen !== 12) throw new Error(`seq ${seq}: used len ${q.reclaimedLen}`);
        if (mem.readU32(at) !== seq)
          throw new Error(`seq ${seq}: response names ${mem.readU32(at)}`);
        if (mem.readU32(at + 4) !== mem.readU32(slotAt(slot) + REQ - 4))
          throw new Error(`seq ${seq}: bad echo`);
        if (mem.readU32(at + 8) !== fnv(mem.u8, at, 8))
          throw new Error(`seq ${seq}: response checksum`);
        r.seqSum += seq;
        r.chains++;
        free.push(slot);
        got++;
      }
      if (got > 0 || added > 0) continue;
      if (!sleep) stillInTime();
      else if (!q.enableInterrupts()) {
        r.sleeps++;
        waitFor(irq);
        q.disableInterrupts();
      } else q.disableInterrupts();
    }
  } else {
    const q = new DeviceQueue(mem, c.queue, { eventIdx: sleep, indirect: c.indirect !== null });
    let pending = 0;
    if (sleep) q.disableNotifications();
    while (r.chains < c.count) {
      const chain = q.pop();
      if (chain === null) {
        if (pending > 0) {
          q.publish();
          if (sleep && q.interruptNeeded()) {
            irq.ring();
            r.notifications++;
          }
          pending = 0;
        } else if (!sleep) stillInTime();
        else if (!q.enableNotifications()) {
          r.sleeps++;
          waitFor(kick);
          q.disableNotifications();
        } else q.disableNotifications();
        continue;
      }
      if (isMalformed(chain)) throw chain.error;
      const [req, resp] = chain.segments;
      if (
        chain.segments.length !== 2 ||
        req.writable ||
        !resp.writable ||
        req.len !== REQ ||
        resp.len !== RESP
      )
        throw new Error(`unexpected chain shape ${JSON.stringify(chain.segments)}`);
      const sum = fnv(mem.u8, req.addr, REQ - 4);
      if (sum !== mem.readU32(req.addr + REQ - 4))
        throw new Error(`request checksum at ${req.addr}`);
      const seq = mem.readU32(req.addr);
      mem.writeU32(resp.addr, seq);
      mem.writeU32(resp.addr + 4, sum);
      mem.writeU32(resp.addr + 8, fnv(mem.u8, resp.addr, 8));
      q.push(chain.head, 12);
      r.seqSum += seq;
      r.chains++;
      if (++pending === 8) {
        q.publish();
        if (sleep && q.interruptNeeded()) {
          irq.ring();
          r.notifications++;
        }
        pending = 0;
      }
    }
    q.publish();
    if (sleep && q.interruptNeeded()) irq.ring();
  }
  return r;
}

try {
  parentPort!.postMessage({ ok: true, result: run(workerData.config as SideConfig) });
} catch (e) {
  parentPort!.postMessage({
    ok: false,
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
  });
}
