// The seq app: apps one after another in one task, stopping at the first
// failure; its command lines are checked before any worker starts.
import { expect, test } from 'vitest';
import { appCommandError } from '../packages/guest-kernel/src/index.ts';
import { boot, exitOf, testVmm } from './lib/harness.ts';

test('seq runs its commands in order and stops at the first non-zero exit', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, {
    name: 'seqd',
    memory: '4M',
    apps: ['seq hello one ; sleep 0.05 ; hello two ; exit 3 ; hello three', 'hello side'],
  });
  const exit = await exitOf(dom);
  expect(exit).toMatchObject({ reason: 'poweroff', code: 3 });
  const log = dom.consoleLog;
  const at = (s: string) => log.findIndex((l) => l.startsWith(s));
  expect(at('Hello, one,')).toBeGreaterThanOrEqual(0);
  expect(at('sleep: slept 0.05 s')).toBeGreaterThan(at('Hello, one,'));
  expect(at('Hello, two,')).toBeGreaterThan(at('sleep: slept 0.05 s'));
  expect(log).toContain('seq: "exit 3" exited with 3; the rest is skipped');
  expect(at('Hello, three,')).toBe(-1);
  // The other app of the list ran beside the sequence, not after it.
  expect(at('Hello, side,')).toBeLessThan(at('Hello, two,'));
});

test('seq command lines are checked up front, each command with its own app', () => {
  expect(appCommandError('seq hello ; hello a')).toBeNull();
  expect(appCommandError('seq hello ; ; hello')).toMatch(/^seq: command 2 is empty/);
  expect(appCommandError('seq hello ; nope 1')).toMatch(/^seq: unknown app "nope"/);
  expect(appCommandError('seq sleep')).toMatch(/^seq: sleep: .*\(usage: sleep <seconds>\)/);
  expect(appCommandError('seq seq hello')).toMatch(/^seq: a seq cannot hold another seq/);
});
