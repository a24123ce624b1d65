// The service loop, adaptive like KVM halt-polling: while guests trap, spin
// (a trap costs a cache-line round trip); after `spinUs` without a trap,
// sleep on the doorbell with the next timer deadline as the timeout. Before
// sleeping, tell every vCPU to ring the doorbell, then look once more, so a
// trap published in between is never left waiting.
import { hostClockMs, SERVICE_COUNTER, SERVICE_DOORBELL } from '@pvkit/hypercall';
import { SERVICE_CONTROL, type ToService } from './protocol.ts';
import type { Service } from './service.ts';

export interface LoopIo {
  doorbell: Int32Array;
  /** SERVICE_CONTROL words: the toolstack bumps `seq` after each control message. */
  controlWords: Int32Array;
  /** Next control message, if any (receiveMessageOnPort). */
  receive: () => ToService | undefined;
  spinUs: number;
}

export function runServiceLoop(svc: Service, io: LoopIo): void {
  const spinMs = io.spinUs / 1000;
  const c = svc.counters;
  let seenCtl = -1;
  let now = hostClockMs();
  let lastTrap = now;
  for (;;) {
    const ctl = Atomics.load(io.controlWords, SERVICE_CONTROL.seq);
    if (ctl !== seenCtl) {
      seenCtl = ctl;
      for (let m = io.receive(); m; m = io.receive()) {
        if (m.t === 'stop') return;
        svc.control(m);
      }
    }
    c[SERVICE_COUNTER.passes] += 1;
    const t = svc.scan(now);
    if (t !== 0) {
      now = lastTrap = t;
    } else {
      now = hostClockMs();
    }
    if (now >= svc.nextTimerMs) {
      svc.fireTimers(now);
      lastTrap = now;
    }
    if (t !== 0 || now - lastTrap < spinMs) continue;

    svc.setSleeping(true);
    const seq = Atomics.load(io.doorbell, SERVICE_DOORBELL.seq);
    const ready =
      svc.anyRequest() ||
      Atomics.load(io.controlWords, SERVICE_CONTROL.seq) !== seenCtl ||
      hostClockMs() >= svc.nextTimerMs;
    if (!ready) {
      c[SERVICE_COUNTER.sleeps] += 1;
      const timeout = svc.nextTimerMs === Infinity ? undefined : svc.nextTimerMs - hostClockMs();
      Atomics.wait(io.doorbell, SERVICE_DOORBELL.seq, seq, timeout);
      c[SERVICE_COUNTER.wakeups] += 1;
    }
    svc.setSleeping(false);
    now = lastTrap = hostClockMs();
  }
}
