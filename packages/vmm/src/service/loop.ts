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
 * Idle passes between clock reads while spinning. A read costs ~50 ns here,
 * an idle pass ~20: reading every pass would make the next trap wait. Traps
 * answered since the last read are stamped at that read (or once
 * STAMP_BATCH of them wait), so a guest that traps back to back never waits
 * for the clock; one that pauses is stamped within this many passes (~0.3 µs).
 */
const CLOCK_EVERY = 16;
/** Passes between looks at the control word (~8 ns each); a message waits ~0.1 µs more. */
const CONTROL_EVERY = 4;

export function runServiceLoop(svc: Service, io: LoopIo): void {
  const spinMs = io.spinUs / 1000;
  const c = svc.counters;
  let seenCtl = -1;
  let idle = 0;
  let ctlIn = 0; // passes until the next look at the control word
  for (;;) {
    if (--ctlIn <= 0) {
      ctlIn = CONTROL_EVERY;
      const ctl = Atomics.load(io.controlWords, SERVICE_CONTROL.seq);
      if (ctl !== seenCtl) {
        seenCtl = ctl;
        for (let m = io.receive(); m; m = io.receive()) {
          if (m.t === 'stop') return;
          svc.controlSafely(m);
        }
      }
    }
    c[SERVICE_COUNTER.passes] += 1;
    if (svc.scan()) {
      idle = 0; // (svc.now moves at each stamp, so timers still fire while guests trap)
    } else if (++idle % CLOCK_EVERY === 0) {
      svc.settle();
    } else {
      continue;
    }
    if (svc.now >= svc.nextTimerMs) {
      svc.fireTimers(svc.now);
      svc.lastTrapMs = svc.now;
    }
    if (idle === 0 || svc.now - svc.lastTrapMs < spinMs) continue;

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
