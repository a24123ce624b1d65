// Bad guests: wrong hypercalls, a guest that throws, one that breaks the
// ABI, one destroyed while busy. Each fails alone; the VMM and the other
// domains go on; workers and timers are released.

import { expect, test } from 'vitest';
import { ERRNO } from '../packages/hypercall/src/index.ts';
import { boot, exitOf, guestConfig, lineMatching, testVmm, until } from './lib/harness.ts';

test('bad hypercalls get the right -errno while the VMM keeps serving another domain', async () => {
  const vmm = testVmm();
  const [busy] = await boot(vmm, {
    name: 'bench',
    memory: '4M',
    apps: ['hcall-bench null 200000'],
  });
  const [bad] = await vmm.createDomains([guestConfig('bad', 'bad-calls')]);
  vmm.start(bad);
  expect(await exitOf(bad)).toEqual({ reason: 'poweroff', code: 0 });
  const results = Object.fromEntries(
    bad.consoleLog.map((l) => l.split(' ')).map(([, label, v]) => [label, Number(v)]),
  );
  expect(results).toEqual({
    'unknown-call': -ERRNO.ENOSYS,
    'huge-call': -ERRNO.ENOSYS,
    'console-outside': -ERRNO.EFAULT,
    'console-bad-subop': -ERRNO.EINVAL,
    'send-bad-port': -ERRNO.EINVAL,
    'send-free-port': -ERRNO.EINVAL,
    'evtchn-bad-subop': -ERRNO.EINVAL,
    'status-outside': -ERRNO.EFAULT,
    'nested-multicall': 0,
    'nested-multicall-entry': -ERRNO.EINVAL,
    'multicall-outside': -ERRNO.EFAULT,
    'still-alive': 0x10000,
  });
  expect(await exitOf(busy, 30_000)).toEqual({ reason: 'poweroff', code: 0 });
  expect(busy.consoleLog.some((l) => /^hcall-bench: null 200000 calls/.test(l))).toBe(true);
});

test('a guest that throws is reported crashed and its worker is gone', async () => {
  const vmm = testVmm();
  const [calm] = await boot(vmm, { name: 'calm', memory: '4M' });
  const [thrower] = await vmm.createDomains([guestConfig('thrower', 'throw')]);
  vmm.start(thrower);
  const exit = await exitOf(thrower);
  expect(exit.reason).toBe('crash');
  expect(exit.detail).toContain('guest exploded on purpose');
  expect(thrower.state).toBe('crashed');
  expect(thrower.consoleLog).toEqual(['about to throw']);
  await until(() => vmm.workerCount() === 2, 5000, 'the crashed vCPU worker ends');
  expect(calm.alive).toBe(true);
  expect(vmm.serviceStats()?.domains).toBe(1);
});

test('a kernel app that throws panics the kernel: crashed, with the panic line as the reason', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, { name: 'panicky', memory: '4M', apps: ['crash no more coffee'] });
  const exit = await exitOf(dom);
  expect(exit).toEqual({
    reason: 'crash',
    code: 1,
    detail: 'panic: Error: app "crash no more coffee" threw: no more coffee',
  });
  await until(() => vmm.workerCount() === 1, 5000, 'the vCPU worker ends');
});

test('a guest that scribbles on its mailbox is crashed for breaking the ABI', async () => {
  const vmm = testVmm();
  const [dom] = await vmm.createDomains([guestConfig('scribbler', 'garbage-mailbox')]);
  vmm.start(dom);
  const exit = await exitOf(dom);
  expect(exit).toEqual({
    reason: 'crash',
    code: 0,
    detail: 'vCPU 0 broke the ABI: mailbox state 9',
  });
});

test('destroying busy domains releases their workers and timers', async () => {
  const vmm = testVmm();
  const [trapping] = await vmm.createDomains([guestConfig('trapping', 'busy')]);
  vmm.start(trapping);
  const [sleeper] = await boot(vmm, { name: 'sleeper', memory: '4M', apps: ['sleep 60'] });
  await lineMatching(trapping, /^busy$/);
  await until(() => vmm.serviceStats()?.timersArmed === 1, 10_000, 'the sleeper arms its timer');
  const before = trapping.stats().hypercalls;
  await until(() => trapping.stats().hypercalls > before + 1000, 10_000, 'the busy guest traps');
  expect(vmm.workerCount()).toBe(3);
  expect(vmm.serviceStats()?.domains).toBe(2);

  expect(await vmm.destroy(trapping)).toEqual({ reason: 'destroyed', code: 0 });
  expect(await vmm.destroy(sleeper)).toEqual({ reason: 'destroyed', code: 0 });
  expect(trapping.state).toBe('destroyed');
  await until(() => vmm.workerCount() === 1, 5000, 'vCPU workers end');
  expect(vmm.serviceStats()).toMatchObject({ domains: 0, timersArmed: 0 });
  await vmm.close();
  expect(vmm.workerCount()).toBe(0);
});
