// The trace hook: with a ring enabled, every trap of every domain is
// recorded (what `pvkit trace` will write to a file).
import { expect, test } from 'vitest';
import { HYPERVISOR, SHUTDOWN, TRACE_KIND, XENVER } from '../packages/hypercall/src/index.ts';
import { boot, exitOf, testVmm } from './lib/harness.ts';

test('every trap of a domain lands in the trace ring, in order, with its result', async () => {
  const vmm = testVmm();
  const ring = await vmm.enableTrace(1 << 14);
  const [dom] = await boot(vmm, { name: 'traced', memory: '4M', apps: ['hcall-bench null 1000'] });
  await exitOf(dom);
  const all = ring.drain();
  const recs = all.filter((r) => r.kind === TRACE_KIND.trap);
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

test('multicall entries and raised events are recorded too; per call they add up to the counters', async () => {
  const vmm = testVmm();
  const ring = await vmm.enableTrace(1 << 14);
  const [dom] = await boot(vmm, {
    name: 'batched',
    memory: '4M',
    apps: ['hcall-bench multicall 20', 'sleep 0.05'],
  });
  await exitOf(dom);
  const recs = ring.drain();
  expect(ring.dropped).toBe(0);
  const entries = recs.filter((r) => r.kind === TRACE_KIND.entry);
  expect(entries.length).toBe(dom.stats().multicallEntries);
  expect(entries.length).toBeGreaterThanOrEqual(20);
  expect(entries.every((r) => r.durationNs === 0 && r.args.length === 6)).toBe(true);
  const events = recs.filter((r) => r.kind === TRACE_KIND.event);
  expect(events.length).toBeGreaterThan(0); // the sleep's timer VIRQ at least
  const counted = new Map<number, number>();
  for (const r of recs)
    if (r.kind !== TRACE_KIND.event) counted.set(r.nr, (counted.get(r.nr) ?? 0) + 1);
  for (const c of dom.stats().calls) expect([c.name, counted.get(c.nr)]).toEqual([c.name, c.count]);
  await vmm.disableTrace();
});
