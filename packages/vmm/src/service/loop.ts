// The service loop, adaptive like KVM halt-polling: while guests trap, spin
// (a trap costs a cache-line round trip); after `spinUs` without a trap,
// sleep on the doorbell with the next timer deadline as the timeout. Before
// sleeping, tell every vCPU to ring the doorbell, then look once more, so a
// trap published in between is never left waiting.
import { SERVICE_COUNTER, SERVICE_DOORBELL } from '@pvkit/hypercall';
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

/**
 * Idle passes between clock reads while spinning. A read costs ~55 ns here,
 * an idle pass ~10: reading every pass would make the next trap wait. The
 * start time of a trap found after idle passes is then up to this many
 * passes old (~0.2 µs), which its time counter includes.
 */
const CLOCK_EVERY = 16;

export function runServiceLoop(svc: Service, io: LoopIo): void {
  const spinMs = io.spinUs / 1000;
  const c = svc.counters;
  let seenCtl = -1;
  let idle = 0;
  for (;;) {
    const ctl = Atomics.load(io.controlWords, SERVICE_CONTROL.seq);
    if (ctl !== seenCtl) {
      seenCtl = ctl;
      for (let m = io.receive(); m; m = io.receive()) {
        if (m.t === 'stop') return;
        svc.controlSafely(m);
      }
    }
    c[SERVICE_COUNTER.passes] += 1;
    if (svc.scan()) {
      idle = 0; // the answer's end is stamped at the next idle pass
    } else if (svc.unsettled) {
      svc.settle();
    } else if (++idle % CLOCK_EVERY === 0) {
      svc.settle(); // nothing to account: just read the clock
    } else {
      continue;
    }
    if (svc.now >= svc.nextTimerMs) {
      svc.fireTimers(svc.now);
      svc.lastTrapMs = svc.now;
    }
    if (svc.now - svc.lastTrapMs < spinMs || idle === 0) continue;

    if (svc.garbage) svc.collect(); // idle: a domain ended, let go of its memory now
    svc.setSleeping(true);
    const seq = Atomics.load(io.doorbell, SERVICE_DOORBELL.seq);
    const ready =
      svc.anyRequest() ||
      Atomics.load(io.controlWords, SERVICE_CONTROL.seq) !== seenCtl ||
      svc.settle() >= svc.nextTimerMs;
    if (!ready) {
      c[SERVICE_COUNTER.sleeps] += 1;
      const timeout = svc.nextTimerMs === Infinity ? undefined : svc.nextTimerMs - svc.now;
      Atomics.wait(io.doorbell, SERVICE_DOORBELL.seq, seq, timeout);
      c[SERVICE_COUNTER.wakeups] += 1;
    }
    svc.setSleeping(false);
    svc.lastTrapMs = svc.settle();
  }
}
