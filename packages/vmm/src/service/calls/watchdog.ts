// sched_op(watchdog): Xen's domain watchdogs (xen/common/sched/core.c,
// domain_watchdog). A guest that wants to be killed when it hangs arms one
// with a timeout and re-arms it while it is healthy; if it ever goes a whole
// timeout without re-arming, the service shuts the domain down with
// SHUTDOWN.watchdog, and the toolstack stops its vCPU and backends. A
// guest spinning without a trap cannot re-arm, so this catches it too.
import { ERRNO, hostClockMs, LIMITS, SHUTDOWN } from '@pvkit/hypercall';
import type { ServiceContext } from '../context.ts';
import type { ServiceDomain } from '../domain.ts';

/** Xen's timeout is a u32 of seconds. */
const MAX_TIMEOUT_S = 0xffffffff;

/**
 * id 0: a new watchdog armed for `timeoutS` seconds; returns its id (1..).
 * id > 0: re-arm it for `timeoutS` seconds, or remove it when `timeoutS` is 0.
 */
export function watchdogOp(
  svc: ServiceContext,
  d: ServiceDomain,
  id: number,
  timeoutS: number,
): number {
  if (!Number.isInteger(timeoutS) || timeoutS < 0 || timeoutS > MAX_TIMEOUT_S) return -ERRNO.EINVAL;
  if (!Number.isInteger(id) || id < 0 || id > LIMITS.watchdogs) return -ERRNO.EINVAL;
  const w = d.watchdogs;
  const ms = timeoutS * 1000;
  if (id === 0) {
    if (timeoutS === 0) return -ERRNO.EINVAL; // a watchdog that never fires is no watchdog
    const free = w.timeoutMs.indexOf(0);
    if (free < 0) return -ERRNO.ENOSPC;
    w.timeoutMs[free] = ms;
    w.deadlineMs[free] = hostClockMs() + ms;
    svc.timersChanged();
    return free + 1;
  }
  const i = id - 1;
  if (w.timeoutMs[i] === 0) return -ERRNO.EINVAL; // not in use
  w.timeoutMs[i] = ms;
  w.deadlineMs[i] = ms === 0 ? 0 : hostClockMs() + ms;
  svc.timersChanged();
  return 0;
}

/** At a timer pass: if one of `d`'s watchdogs has expired by `now`, shut `d` down; true then. */
export function expireWatchdog(svc: ServiceContext, d: ServiceDomain, now: number): boolean {
  const i = d.watchdogs.expired(now);
  if (i < 0) return false;
  const s = d.watchdogs.timeoutMs[i] / 1000;
  svc.shutdown(d, SHUTDOWN.watchdog, 0, `watchdog ${i + 1} expired (${s} s without a re-arm)`);
  return true;
}

/** A domain's watchdogs: per slot its timeout and deadline (host ms), 0 when unused. */
export class Watchdogs {
  readonly timeoutMs = new Float64Array(LIMITS.watchdogs);
  readonly deadlineMs = new Float64Array(LIMITS.watchdogs);

  /** The earliest deadline, Infinity if none is armed. */
  next(): number {
    let next = Infinity;
    for (const t of this.deadlineMs) if (t !== 0 && t < next) next = t;
    return next;
  }

  /** The slot that has expired by `now`, or -1. */
  expired(now: number): number {
    for (let i = 0; i < this.deadlineMs.length; i++) {
      const t = this.deadlineMs[i];
      if (t !== 0 && t <= now) return i;
    }
    return -1;
  }

  /** A paused domain cannot re-arm: its deadlines move by the time it was paused. */
  shift(ms: number): void {
    for (let i = 0; i < this.deadlineMs.length; i++)
      if (this.deadlineMs[i] !== 0) this.deadlineMs[i] += ms;
  }

  clear(): void {
    this.timeoutMs.fill(0);
    this.deadlineMs.fill(0);
  }
}
