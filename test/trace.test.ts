// The trace hook: with a ring enabled, every trap of every domain is
// recorded (what `pvkit trace` will write to a file).
import { expect, test } from 'vitest';
import { HYPERVISOR, SHUTDOWN, XENVER } from '../packages/hypercall/src/index.ts';
import { boot, exitOf, testVmm } from './lib/harness.ts';

test('every trap of a domain lands in the trace ring, in order, with its result', async () => {
  const vmm = testVmm();
  const ring = await vmm.enableTrace(1 << 14);
  const [dom] = await boot(vmm, { name: 'traced', memory: '4M', apps: ['hcall-bench null 1000'] });
  await exitOf(dom);
  const recs = ring.drain();
  expect(ring.dropped).toBe(0);
  expect(recs.length).toBe(dom.stats().hypercalls); // the shutdown too, though it gets no answer
  expect(recs.every((r) => r.domid === dom.domid && r.vcpu === 0)).toBe(true);
  const nulls = recs.filter((r) => r.nr === HYPERVISOR.xen_version && r.arg0 === XENVER.version);
  expect(nulls.length).toBeGreaterThanOrEqual(2000); // warm-up + 1000 timed
  expect(nulls.every((r) => r.result === 0x10000)).toBe(true);
  for (let i = 1; i < recs.length; i++)
    expect(recs[i].timeNs).toBeGreaterThanOrEqual(recs[i - 1].timeNs);
  const last = recs.at(-1);
  expect([last?.nr, last?.arg0]).toEqual([HYPERVISOR.sched_op, 2]);
  expect(last?.result).toBe(SHUTDOWN.poweroff);
  await vmm.disableTrace();
});
