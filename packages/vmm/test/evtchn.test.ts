// Event channels in the service: interdomain binding and the discovery
// rule, masks, close semantics, timers, counters, shutdown.

import {
  clearEvent,
  DOMAIN_COUNTER,
  DOMID_SELF,
  ERRNO,
  EVTCHN_STATUS,
  EVTCHNOP,
  EVTCHNSTAT,
  HYPERVISOR,
  hostClockMs,
  isEventPending,
  MAILBOX,
  MAILBOX_STATE,
  maskWord,
  PORT_COUNTER,
  PORT_COUNTER_BASE,
  PORT_COUNTER_STRIDE,
  SCHEDOP,
  SCHEDOP_POLL_WAIT,
  SHUTDOWN,
  VCPU_INFO,
  VIRQ,
  vcpuInfoWord,
} from '@pvkit/hypercall';
import { describe, expect, test } from 'vitest';
import { rig, type TestDomain } from './rig.ts';

const H = HYPERVISOR;
const ev = (d: TestDomain, ...args: number[]) => d.call(H.event_channel_op, ...args);
const masked = (d: TestDomain, port: number) =>
  (Atomics.load(d.words, maskWord(port)) & (1 << (port & 31))) !== 0;
const STATUS_GPA = 0x10000;
function status(d: TestDomain, dom: number, port: number) {
  const r = ev(d, EVTCHNOP.status, dom, port, STATUS_GPA);
  if (r !== 0) return r;
  const u = (o: number) => d.dv.getUint32(STATUS_GPA + o, true);
  return { status: u(EVTCHN_STATUS.status), a: u(EVTCHN_STATUS.a), b: u(EVTCHN_STATUS.b) };
}
const portCounter = (d: TestDomain, port: number, f: number) =>
  d.counters[PORT_COUNTER_BASE + PORT_COUNTER_STRIDE * port + f];

describe('interdomain channels', () => {
  test('offer, discover, bind, send both ways, close', () => {
    const r = rig();
    const a = r.domain(1);
    const b = r.domain(2);
    const c = r.domain(3);
    const pa = ev(a, EVTCHNOP.alloc_unbound, 2) as number;
    expect(pa).toBeGreaterThan(0);
    expect(masked(a, pa)).toBe(true); // fresh ports start masked
    expect(status(a, DOMID_SELF, pa)).toEqual({ status: EVTCHNSTAT.unbound, a: 2, b: 0 });
    // b may see the port offered to it; c may not, nor a's free ports
    expect(status(b, 1, pa)).toEqual({ status: EVTCHNSTAT.unbound, a: 2, b: 0 });
    expect(status(c, 1, pa)).toBe(-ERRNO.EPERM);
    expect(status(b, 1, pa + 1)).toBe(-ERRNO.EPERM);
    expect(status(b, 77, 1)).toBe(-ERRNO.ESRCH);
    // c can't bind what was offered to b
    expect(ev(c, EVTCHNOP.bind_interdomain, 1, pa)).toBe(-ERRNO.EINVAL);
    expect(ev(b, EVTCHNOP.bind_interdomain, 9, pa)).toBe(-ERRNO.ESRCH);
    const pb = ev(b, EVTCHNOP.bind_interdomain, 1, pa) as number;
    expect(pb).toBeGreaterThan(0);
    expect(isEventPending(b.words, pb)).toBe(true); // Xen marks the binder's port pending
    expect(ev(b, EVTCHNOP.bind_interdomain, 1, pa)).toBe(-ERRNO.EINVAL); // bound already
    expect(status(a, DOMID_SELF, pa)).toEqual({ status: EVTCHNSTAT.interdomain, a: 2, b: pb });

    // a -> b: b's port is still masked, so pending but no upcall; unmask delivers it
    expect(masked(b, pb)).toBe(true);
    clearEvent(b.words, pb); // the guest drops the bind's mark, as Mini-OS does
    expect(isEventPending(b.words, pb)).toBe(false);
    expect(ev(a, EVTCHNOP.send, pa)).toBe(0);
    expect(isEventPending(b.words, pb)).toBe(true);
    expect(Atomics.load(b.words, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_pending))).toBe(0);
    expect(ev(b, EVTCHNOP.unmask, pb)).toBe(0);
    expect(Atomics.load(b.words, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_pending))).toBe(1);
    expect(portCounter(a, pa, PORT_COUNTER.sends)).toBe(1);

    // b -> a
    Atomics.and(a.words, maskWord(pa), ~(1 << (pa & 31)));
    expect(ev(b, EVTCHNOP.send, pb)).toBe(0);
    expect(isEventPending(a.words, pa)).toBe(true);
    expect(portCounter(a, pa, PORT_COUNTER.deliveries)).toBe(1);
    expect(a.counters[DOMAIN_COUNTER.events_delivered]).toBe(1);

    // b closes: a's port goes back to unbound (to b), and sends are dropped
    expect(ev(b, EVTCHNOP.close, pb)).toBe(0);
    expect(ev(b, EVTCHNOP.send, pb)).toBe(-ERRNO.EINVAL);
    expect(status(a, DOMID_SELF, pa)).toEqual({ status: EVTCHNSTAT.unbound, a: 2, b: 0 });
    expect(ev(a, EVTCHNOP.send, pa)).toBe(0);
  });

  test('a domain that shuts down releases its ports: the peer sees them unbound, sends fail', () => {
    const r = rig();
    const a = r.domain(1);
    const b = r.domain(2);
    const c = r.domain(3);
    const pa = ev(a, EVTCHNOP.alloc_unbound, 2) as number;
    ev(b, EVTCHNOP.bind_interdomain, 1, pa);
    const offered = ev(c, EVTCHNOP.alloc_unbound, 2) as number; // never bound by b
    const toLater = ev(c, EVTCHNOP.alloc_unbound, 9) as number; // domain 9 is not up yet
    expect(b.call(H.sched_op, SCHEDOP.shutdown, SHUTDOWN.poweroff, 7)).toBeNull(); // no answer
    expect(r.posted).toContainEqual({
      t: 'shutdown',
      domid: 2,
      reason: SHUTDOWN.poweroff,
      code: 7,
    });
    expect(status(a, DOMID_SELF, pa)).toEqual({ status: EVTCHNSTAT.unbound, a: 2, b: 0 });
    // A send to a dead domain is an error the guest sees, not a crash and not a silent drop.
    expect(ev(a, EVTCHNOP.send, pa)).toBe(-ERRNO.ESRCH);
    expect(ev(c, EVTCHNOP.send, offered)).toBe(-ERRNO.ESRCH);
    expect(ev(c, EVTCHNOP.send, toLater)).toBe(0); // dropped, as in Xen: 9 may still come
    expect(ev(a, EVTCHNOP.bind_interdomain, 2, 1)).toBe(-ERRNO.ESRCH);
    expect(r.svc.domain(2)).toBeUndefined();
    // The port can be closed and reused; a fresh offer carries no mark.
    expect(ev(a, EVTCHNOP.close, pa)).toBe(0);
    const again = ev(a, EVTCHNOP.alloc_unbound, 5) as number;
    expect(again).toBe(pa);
    expect(ev(a, EVTCHNOP.send, again)).toBe(0);
  });

  test('ipi ports loop back to the sender', () => {
    const a = rig().domain(1);
    const p = ev(a, EVTCHNOP.bind_ipi, 0) as number;
    expect(ev(a, EVTCHNOP.send, p)).toBe(0);
    expect(isEventPending(a.words, p)).toBe(true);
    expect(ev(a, EVTCHNOP.bind_ipi, 4)).toBe(-ERRNO.ENOENT);
  });

  test('ports run out with -ENOSPC, not an exception', () => {
    const a = rig().domain(1);
    let last = 0;
    for (let i = 0; i < 1023; i++) last = ev(a, EVTCHNOP.alloc_unbound, 2) as number;
    expect(last).toBe(1023);
    expect(ev(a, EVTCHNOP.alloc_unbound, 2)).toBe(-ERRNO.ENOSPC);
  });
});

describe('timers and blocking', () => {
  test('set_timer_op in the past fires VIRQ_TIMER at the next timer pass; 0 cancels', () => {
    const r = rig();
    const a = r.domain(1);
    const port = ev(a, EVTCHNOP.bind_virq, VIRQ.timer, 0) as number;
    expect(a.call(H.set_timer_op, 1)).toBe(0);
    expect(r.svc.nextTimerMs).toBeLessThan(hostClockMs());
    r.svc.fireTimers(hostClockMs());
    expect(isEventPending(a.words, port)).toBe(true);
    expect(a.counters[DOMAIN_COUNTER.timer_fires]).toBe(1);
    expect(r.svc.nextTimerMs).toBe(Number.POSITIVE_INFINITY);
    const later = (hostClockMs() - r.timeBaseMs + 60_000) * 1e6;
    expect(a.call(H.set_timer_op, later)).toBe(0);
    expect(r.svc.counters[1]).toBe(1); // timers_armed
    expect(a.call(H.set_timer_op, 0)).toBe(0);
    expect(r.svc.counters[1]).toBe(0);
  });

  test('block clears upcall_mask; poll answers at once if a port is pending, else "wait"', () => {
    const a = rig().domain(1);
    expect(Atomics.load(a.words, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_mask))).toBe(1);
    expect(a.call(H.sched_op, SCHEDOP.block)).toBe(0);
    expect(Atomics.load(a.words, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_mask))).toBe(0);
    const p = ev(a, EVTCHNOP.bind_ipi, 0) as number;
    a.dv.setUint32(0x10000, p, true);
    expect(a.call(H.sched_op, SCHEDOP.poll, 0x10000, 1, 0)).toBe(SCHEDOP_POLL_WAIT);
    expect(Atomics.load(a.words, vcpuInfoWord(0, VCPU_INFO.polling))).toBe(1);
    ev(a, EVTCHNOP.send, p);
    expect(a.call(H.sched_op, SCHEDOP.poll, 0x10000, 1, 0)).toBe(0);
  });

  test('a paused domain is not served until unpaused', () => {
    const r = rig();
    const a = r.domain(1);
    r.svc.control({ t: 'pause', domid: 1, id: 1 });
    expect(a.call(H.sched_op, SCHEDOP.yield)).toBeNull();
    r.svc.control({ t: 'unpause', domid: 1, id: 2 });
    r.svc.scan();
    expect(Atomics.load(a.mailbox, MAILBOX.state)).toBe(MAILBOX_STATE.done);
  });
});
