// Timers fire in deadline order, never early, and late by a bounded amount.
import { expect, test } from 'vitest';
import { boot, exitOf, testVmm } from './lib/harness.ts';

/** Generous: other work shares these two cores; the point is "bounded", not "fast". */
const MAX_LATE_MS = 100;

test('three sleeping apps wake in deadline order, none early, each late by < 100 ms', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, {
    name: 'clock',
    memory: '4M',
    apps: ['sleep 0.3', 'sleep 0.1', 'sleep 0.2', 'sleep 0'],
  });
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  const woke = dom.consoleLog
    .map((l) => /^sleep: slept ([\d.]+) s \(woke (-?[\d.]+) ms late\)$/.exec(l))
    .filter((m) => m !== null);
  expect(woke.map((m) => m[1])).toEqual(['0', '0.1', '0.2', '0.3']);
  for (const m of woke) {
    expect(Number(m[2])).toBeGreaterThanOrEqual(0);
    expect(Number(m[2])).toBeLessThan(MAX_LATE_MS);
  }
  expect(dom.stats().timerFires).toBeGreaterThanOrEqual(3);
});
