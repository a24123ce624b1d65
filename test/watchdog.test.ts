// Guests that spin without ever trapping: the toolstack's watchdog (config
// "watchdog") and the guest's own sched_op watchdog destroy them; their
// backends (a disk and a NIC) stop; workers, fds and timers come back to
// the baseline; another domain runs on. destroy() of a spinning domain
// completes too: terminate() stops a worker that never yields.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { BANNER_PREFIX } from '../packages/guest-kernel/src/index.ts';
import type { Vmm } from '../packages/vmm/src/index.ts';
import { boot, exitOf, guestConfig, lineMatching, testVmm, until, within } from './lib/harness.ts';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pvkit-watchdog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const openFds = () => readdirSync('/proc/self/fd').length;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A probe guest running `script`, with a disk and a NIC (both with host resources). */
function spinner(name: string, script: string, watchdog?: number) {
  return guestConfig(name, script, {
    disks: [{ path: join(dir, `${name}.img`), size: '8M', create: true }],
    nics: [{ backend: 'dgram', local: '127.0.0.1:0', remote: '127.0.0.1:9' }],
    ...(watchdog !== undefined ? { watchdog } : {}),
  });
}

/** Workers, fds, service timers and main-thread timers, once they have settled. */
async function expectBaseline(vmm: Vmm, base: { workers: number; fds: number; timers: number }) {
  await until(() => vmm.workerCount() === base.workers, 10_000, 'vCPU and backend workers end');
  await until(() => openFds() === base.fds, 5000, `fds back to ${base.fds} (now ${openFds()})`);
  await until(() => timers() === base.timers, 5000, `timers back to ${base.timers}`);
  expect(vmm.serviceStats()).toMatchObject({ domains: 1, timersArmed: 1 }); // the calm one
}

test('a spinning guest is destroyed by the toolstack watchdog; its backends stop; nothing leaks', async () => {
  const vmm = testVmm();
  const [calm] = await boot(vmm, { name: 'calm', memory: '4M', apps: ['sleep 60'] });
  await lineMatching(calm, new RegExp(`^${BANNER_PREFIX}`));
  await until(() => vmm.serviceStats()?.timersArmed === 1, 10_000, 'the calm guest sleeps');

  // destroy() of a spinning domain completes (and warms up the backend bundles).
  const [warm] = await vmm.createDomains([spinner('warm', 'spin')]);
  vmm.start(warm);
  await lineMatching(warm, /^spinning$/);
  expect(vmm.workerCount()).toBe(5); // service, calm, warm's vCPU, its disk and NIC backends
  expect(await within(vmm.destroy(warm), 10_000, 'destroying a spinning domain')).toEqual({
    reason: 'destroyed',
    code: 0,
  });
  const base = { workers: 2, fds: 0, timers: 0 };
  await until(() => vmm.workerCount() === base.workers, 10_000, 'warm-up workers end');
  base.fds = openFds();
  base.timers = timers();

  const [spin] = await vmm.createDomains([spinner('spin', 'spin', 300)]);
  vmm.start(spin);
  expect(timers()).toBe(base.timers + 1); // the watchdog's
  await lineMatching(spin, /^spinning$/);
  const t0 = performance.now();
  const exit = await exitOf(spin, 10_000);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(300 - 20); // never early
  expect(exit).toEqual({
    reason: 'watchdog',
    code: 0,
    detail: 'vCPU 0 neither trapped nor waited for 300 ms (watchdog)',
  });
  expect(spin.state).toBe('crashed');
  expect(spin.stats().state).toBe('crashed');
  expect(spin.stats().devices.map((d) => d.name)).toEqual(['vda', 'eth0']);
  await expectBaseline(vmm, base);

  // The other domain was served all along: it still answers a shutdown request.
  expect(calm.alive).toBe(true);
  expect(await within(vmm.shutdown(calm), 10_000, 'calm shutdown')).toEqual({
    reason: 'poweroff',
    code: 0,
  });
});

test("the guest's own sched_op watchdog kills it when it stops re-arming", async () => {
  const vmm = testVmm();
  const [calm] = await boot(vmm, { name: 'calm', memory: '4M', apps: ['sleep 60'] });
  await lineMatching(calm, new RegExp(`^${BANNER_PREFIX}`));
  const [dog] = await vmm.createDomains([spinner('dog', 'watchdog-spin')]);
  vmm.start(dog);
  await lineMatching(dog, /^rearm /);
  expect(dog.consoleLog.filter((l) => !l.startsWith('vmm:'))).toEqual(['watchdog 1', 'rearm 0']);
  expect(await exitOf(dog, 10_000)).toEqual({
    reason: 'watchdog',
    code: 0,
    detail: 'watchdog 1 expired (1 s without a re-arm)',
  });
  expect(dog.state).toBe('crashed');
  await until(() => vmm.workerCount() === 2, 10_000, 'its vCPU and backends end');
  expect(vmm.serviceStats()).toMatchObject({ domains: 1 });
  expect(calm.alive).toBe(true);
});

test('the toolstack watchdog leaves a guest alone while it waits (sleeps, blocks)', async () => {
  const vmm = testVmm();
  const [sleeper] = await boot(vmm, {
    name: 'sleeper',
    memory: '4M',
    watchdog: '400ms',
    apps: ['sleep 1.5'],
  });
  expect(await exitOf(sleeper, 10_000)).toEqual({ reason: 'poweroff', code: 0 });
});
