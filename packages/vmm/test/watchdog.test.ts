// sched_op(watchdog) in the service: Xen's domain_watchdog semantics (id 0
// makes one, re-arm by id, timeout 0 removes), and expiry at the timer pass
// shutting the domain down with SHUTDOWN.watchdog.
import { ERRNO, HYPERVISOR, hostClockMs, LIMITS, SCHEDOP, SHUTDOWN } from '@pvkit/hypercall';
import { describe, expect, test } from 'vitest';
import { rig, type TestDomain } from './rig.ts';

const dog = (d: TestDomain, id: number, timeoutS: number) =>
  d.call(HYPERVISOR.sched_op, SCHEDOP.watchdog, id, timeoutS);

describe('sched_op(watchdog)', () => {
  test('id 0 makes one (ids 1..N), re-arm by id, timeout 0 removes it', () => {
    const r = rig();
    const a = r.domain(1);
    expect(LIMITS.watchdogs).toBe(2);
    expect(dog(a, 0, 5)).toBe(1);
    expect(dog(a, 0, 7)).toBe(2);
    expect(dog(a, 0, 5)).toBe(-ERRNO.ENOSPC);
    expect(r.svc.nextTimerMs).toBeGreaterThan(hostClockMs() + 4000);
    expect(r.svc.nextTimerMs).toBeLessThanOrEqual(hostClockMs() + 5000);
    expect(dog(a, 1, 9)).toBe(0); // re-armed: watchdog 2 (7 s) is now the first
    expect(r.svc.nextTimerMs).toBeGreaterThan(hostClockMs() + 6000);
    expect(dog(a, 2, 0)).toBe(0); // removed
    expect(dog(a, 2, 3)).toBe(-ERRNO.EINVAL); // not in use any more
    expect(dog(a, 0, 3)).toBe(2); // its slot is free again
  });

  test('bad arguments are -EINVAL, never an exception', () => {
    const a = rig().domain(1);
    expect(dog(a, 0, 0)).toBe(-ERRNO.EINVAL); // a watchdog that never fires
    expect(dog(a, 3, 1)).toBe(-ERRNO.EINVAL);
    expect(dog(a, 1, 1)).toBe(-ERRNO.EINVAL); // never made
    expect(dog(a, 0, 2 ** 32)).toBe(-ERRNO.EINVAL);
    expect(dog(a, 2 ** 40, 1)).toBe(-ERRNO.EINVAL);
    expect(dog(a, 0, -1)).toBe(-ERRNO.EINVAL); // -1 as u64 is huge
  });

  test('expiry shuts the domain down with SHUTDOWN.watchdog; others are untouched', () => {
    const r = rig();
    const a = r.domain(1);
    const b = r.domain(2);
    expect(dog(a, 0, 1)).toBe(1);
    expect(dog(b, 0, 100)).toBe(1);
    r.svc.fireTimers(hostClockMs() + 500); // not yet
    expect(r.svc.domain(1)).toBeDefined();
    r.svc.fireTimers(hostClockMs() + 1000);
    expect(r.posted).toContainEqual({
      t: 'shutdown',
      domid: 1,
      reason: SHUTDOWN.watchdog,
      code: 0,
      detail: 'watchdog 1 expired (1 s without a re-arm)',
    });
    expect(r.svc.domain(1)).toBeUndefined();
    expect(r.svc.domain(2)).toBeDefined();
    expect(b.call(HYPERVISOR.sched_op, SCHEDOP.yield)).toBe(0);
    // Only b's watchdog is left: the next deadline is its one.
    expect(r.svc.nextTimerMs).toBeGreaterThan(hostClockMs() + 90_000);
  });

  test('a paused domain does not expire; unpausing moves its deadline by the pause', async () => {
    const r = rig();
    const a = r.domain(1);
    const t0 = hostClockMs();
    expect(dog(a, 0, 1)).toBe(1);
    r.svc.control({ t: 'pause', domid: 1, id: 1 });
    expect(r.svc.nextTimerMs).toBe(Number.POSITIVE_INFINITY);
    r.svc.fireTimers(hostClockMs() + 5000);
    expect(r.svc.domain(1)).toBeDefined();
    await new Promise((res) => setTimeout(res, 50));
    r.svc.control({ t: 'unpause', domid: 1, id: 2 });
    expect(r.svc.nextTimerMs).toBeGreaterThanOrEqual(t0 + 1000 + 40); // armed at t0, paused 50 ms
    r.svc.fireTimers(hostClockMs() + 1000);
    expect(r.svc.domain(1)).toBeUndefined();
  });
});
