// sched_op and set_timer_op: how a vCPU gives up the processor, asks to be
// woken, and ends its domain.
import {
  DOMAIN_COUNTER,
  ERRNO,
  isEventPending,
  LIMITS,
  POLL_PORT_SIZE,
  SCHEDOP,
  SCHEDOP_POLL_WAIT,
  SHUTDOWN,
  VCPU_INFO,
  VCPU_RUNSTATE,
  vcpuInfoWord,
} from '@pvkit/hypercall';
import type { Handler } from '../context.ts';
import { EventChannelTable } from '../evtchn-table.ts';
import { watchdogOp } from './watchdog.ts';

const REASONS: readonly number[] = Object.values(SHUTDOWN);

export const schedOp: Handler = (svc, d, vcpu, a) => {
  switch (a[0]) {
    case SCHEDOP.yield:
      return 0;
    case SCHEDOP.block: {
      if (d.inMulticall) return -ERRNO.EINVAL; // the wait happens in the vCPU, after the trap
      // Xen: blocking re-enables event delivery so the wake-up can't be lost.
      Atomics.store(d.words, vcpuInfoWord(vcpu, VCPU_INFO.evtchn_upcall_mask), 0);
      d.counters[DOMAIN_COUNTER.blocks] += 1;
      d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.blocked;
      return 0;
    }
    case SCHEDOP.shutdown: {
      const reason = a[1];
      if (!REASONS.includes(reason)) return -ERRNO.EINVAL;
      const code = Number.isSafeInteger(a[2])
        ? Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, a[2]))
        : 0;
      svc.shutdown(d, reason, code);
      return 0;
    }
    case SCHEDOP.poll:
      return poll(d, vcpu, a);
    case SCHEDOP.watchdog:
      return watchdogOp(svc, d, a[1], a[2]);
    default:
      return -ERRNO.EINVAL;
  }
};

function poll(d: Parameters<Handler>[1], vcpu: number, a: Float64Array): number {
  if (d.inMulticall) return -ERRNO.EINVAL;
  const [, gpa, n, deadline] = a;
  if (!Number.isInteger(n) || n < 1 || n > LIMITS.poll_ports || deadline < 0) return -ERRNO.EINVAL;
  const raw = d.copyIn(gpa, n * POLL_PORT_SIZE);
  if (typeof raw === 'number') return raw;
  const ports = new Uint32Array(raw.buffer, 0, n);
  for (const p of ports) if (!EventChannelTable.valid(p)) return -ERRNO.EINVAL;
  // Dekker with raiseEvent: announce polling, then look at pending.
  const polling = vcpuInfoWord(vcpu, VCPU_INFO.polling);
  Atomics.store(d.words, polling, 1);
  for (const p of ports) {
    if (isEventPending(d.words, p)) {
      Atomics.store(d.words, polling, 0);
      return 0;
    }
  }
  d.counters[DOMAIN_COUNTER.polls] += 1;
  d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.blocked;
  return SCHEDOP_POLL_WAIT;
}

/** set_timer_op(deadline): ns of system time; 0 cancels; a past deadline fires at once. */
export const setTimerOp: Handler = (svc, d, _vcpu, a) => {
  const ns = a[0];
  if (!Number.isSafeInteger(ns) || ns < 0) return -ERRNO.EINVAL;
  d.counters[DOMAIN_COUNTER.timer_deadline_ns] = ns;
  svc.setTimer(d, ns === 0 ? 0 : svc.timeBaseMs + ns / 1e6);
  return 0;
};
