// What the VMM keeps of a domain that has ended: a small record (exit,
// console tail, statistics frozen at the end), never its memory; and only
// the last `keepEnded` of them.
import { expect, test } from 'vitest';
import { ENDED_CONSOLE_LINES, Vmm } from '../packages/vmm/src/index.ts';
import { exitOf, guestConfig, within } from './lib/harness.ts';

test('an ended domain keeps its exit, console tail and frozen stats; memory and counters go', async () => {
  const vmm = new Vmm();
  try {
    const [dom] = await vmm.createDomains([guestConfig('chatty', 'chatty')]);
    vmm.start(dom);
    expect(dom.memory.byteLength).toBe(4 << 20); // while it runs
    expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
    expect(dom.consoleLog).toHaveLength(ENDED_CONSOLE_LINES);
    expect(dom.consoleLog.at(-1)).toBe('line 1499');
    expect(dom.consoleDropped).toBe(1500 - ENDED_CONSOLE_LINES);
    const s = dom.stats();
    expect(s).toMatchObject({ name: 'chatty', state: 'shutdown', vcpu: 'down' });
    expect(s.hypercalls).toBeGreaterThanOrEqual(1501); // 1500 console writes and the shutdown
    expect(s.calls.find((c) => c.name === 'console_io')?.count).toBe(1500);
    expect(dom.stats()).toEqual(s); // frozen
    expect(() => dom.memory).toThrow('domain chatty has ended: its memory is released');
    expect(() => dom.counters).toThrow(/read stats\(\) instead/);
    expect(dom.listenerCount('console')).toBe(0);
  } finally {
    await within(vmm.close(), 10_000, 'vmm.close()');
  }
});

test('Vmm.domains lists the live domains and the last keepEnded ended ones', async () => {
  const vmm = new Vmm({ keepEnded: 2 });
  try {
    const doms = await vmm.createDomains(
      ['a', 'b', 'c'].map((n) => guestConfig(n, 'masked-event')),
    );
    const [live] = await vmm.createDomains([guestConfig('live', 'console-poll')]);
    vmm.start(live);
    for (const d of doms) {
      vmm.start(d);
      await exitOf(d);
    }
    expect(vmm.domains.map((d) => d.name)).toEqual(['b', 'c', 'live']);
    expect(doms[0].stats().state).toBe('shutdown'); // a forgotten record still works for its holder
    expect(await within(vmm.destroy(live), 10_000, 'destroy')).toEqual({
      reason: 'destroyed',
      code: 0,
    });
    expect(vmm.domains.map((d) => d.name)).toEqual(['c', 'live']);
  } finally {
    await within(vmm.close(), 10_000, 'vmm.close()');
  }
});
