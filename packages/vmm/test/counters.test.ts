// Call counters when the clock is read less often than traps arrive: every
// trap counted, the time of back-to-back traps shared, nothing left unstamped.
import {
  CALL_COUNTER,
  CALL_COUNTER_BASE,
  CALL_COUNTER_STRIDE,
  DOMAIN_COUNTER,
  HYPERVISOR,
  MAILBOX,
  MAILBOX_STATE,
  SCHEDOP,
  XENVER,
} from '@pvkit/hypercall';
import { expect, test } from 'vitest';
import { STAMP_BATCH } from '../src/service/service.ts';
import { rig } from './rig.ts';

const NR = HYPERVISOR.xen_version;
const at = (field: number) => CALL_COUNTER_BASE + CALL_COUNTER_STRIDE * NR + field;

/** A trap served by one pass, as when a guest traps back to back (no idle pass, no clock). */
function backToBack(svc: ReturnType<typeof rig>['svc'], m: Int32Array): void {
  m[MAILBOX.nr] = NR;
  m[MAILBOX.args] = XENVER.version;
  Atomics.store(m, MAILBOX.state, MAILBOX_STATE.request);
  expect(svc.scan()).toBe(true);
  expect(Atomics.load(m, MAILBOX.state)).toBe(MAILBOX_STATE.done);
}

test('back-to-back traps: all counted, stamped together by the STAMP_BATCH-th', () => {
  const { svc, domain } = rig();
  const d = domain(1);
  svc.settle();
  for (let i = 1; i < STAMP_BATCH; i++) backToBack(svc, d.mailbox);
  expect(d.counters[DOMAIN_COUNTER.hypercalls]).toBe(STAMP_BATCH - 1);
  expect(d.counters[at(CALL_COUNTER.count)]).toBe(0); // answered, not stamped yet
  expect(svc.unsettled).toBe(true);
  backToBack(svc, d.mailbox);
  expect(svc.unsettled).toBe(false);
  expect(d.counters[at(CALL_COUNTER.count)]).toBe(STAMP_BATCH);
  const total = d.counters[at(CALL_COUNTER.total_ns)];
  const max = d.counters[at(CALL_COUNTER.max_ns)];
  expect(total).toBeGreaterThan(0);
  expect(max).toBeCloseTo(total / STAMP_BATCH, 6); // one interval, equal shares
});

test('an idle pass stamps what is pending; a trap alone gets its own interval', () => {
  const { svc, domain } = rig();
  const d = domain(1);
  for (let i = 0; i < 3; i++) backToBack(svc, d.mailbox);
  svc.settle(); // what the loop does at an idle pass
  expect(d.counters[at(CALL_COUNTER.count)]).toBe(3);
  expect(d.counters[DOMAIN_COUNTER.last_trap_ms]).toBe(svc.now);
  const before = d.counters[at(CALL_COUNTER.total_ns)];
  expect(d.call(NR, XENVER.version)).toBeGreaterThan(0); // scan + settle
  expect(d.counters[at(CALL_COUNTER.count)]).toBe(4);
  expect(d.counters[at(CALL_COUNTER.total_ns)]).toBeGreaterThan(before);
});

test('a shutdown is posted only after its trap and the pending ones are counted', () => {
  const { svc, domain, posted } = rig();
  const d = domain(1);
  for (let i = 0; i < 2; i++) backToBack(svc, d.mailbox);
  expect(d.call(HYPERVISOR.sched_op, SCHEDOP.shutdown, 0)).toBeNull();
  expect(posted.some((m) => m.t === 'shutdown')).toBe(true);
  expect(d.counters[at(CALL_COUNTER.count)]).toBe(2);
  expect(svc.unsettled).toBe(false);
});
