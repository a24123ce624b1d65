// A pvkit domain boots, prints its banner, runs its apps and shuts down with
// the exit code the toolstack sees.
import { expect, test } from 'vitest';
import { BANNER_PREFIX } from '../packages/guest-kernel/src/index.ts';
import { boot, exitOf, guestConfig, lineMatching, testVmm, within } from './lib/harness.ts';

test('the banner names the kernel, the domain, its memory and devices', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, {
    name: 'bannered',
    memory: '8M',
    cmdline: 'quiet',
    apps: ['hello'],
  });
  const banner = await lineMatching(dom, new RegExp(`^${BANNER_PREFIX}`));
  expect(banner).toMatch(
    /^pvkit guest kernel \d+\.\d+\.\d+ \(ABI 1\.0\) on domain bannered \(domid 1\)$/,
  );
  await exitOf(dom);
  expect(dom.consoleLog[1]).toMatch(
    /^ {2}memory: 8 MiB, 2048 pages: 4 reserved by the VMM, 2 by the kernel, 2042 free \(a WebAssembly.Memory: ring indexes through its atomics\)$/,
  );
  expect(dom.consoleLog[2]).toBe('  vcpus: 1; devices: none; cmdline: "quiet"');
  expect(dom.consoleLog).toContain('Hello, world, from bannered (domid 1)!');
});

test('memory in whole 64 KiB pages is a WebAssembly.Memory for the rings; other sizes a SharedArrayBuffer', async () => {
  const vmm = testVmm();
  const [whole, odd] = await boot(vmm, {
    domains: [
      { name: 'whole', memory: '4M', apps: ['hello'] },
      { name: 'odd', memory: '4100K', apps: ['hello'] }, // 1025 pages of 4 KiB
    ],
  });
  for (const d of [whole, odd])
    expect(await exitOf(d), d.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
  expect(whole.consoleLog[1]).toMatch(
    / free \(a WebAssembly\.Memory: ring indexes through its atomics\)$/,
  );
  expect(odd.consoleLog[1]).toMatch(/^ {2}memory: [\d.]+ MiB, 1025 pages: .* free$/);
});

test("apps exit with codes the toolstack sees: the first non-zero one is the domain's", async () => {
  const vmm = testVmm();
  const [ok, failing] = await boot(vmm, {
    domains: [
      { name: 'ok', memory: '4M', apps: ['hello', 'exit 0'] },
      { name: 'failing', memory: '4M', apps: ['hello', 'exit 3', 'exit 4'] },
    ],
  });
  expect(await exitOf(ok)).toEqual({ reason: 'poweroff', code: 0 });
  expect(await exitOf(failing)).toEqual({ reason: 'poweroff', code: 3 });
  expect(failing.state).toBe('shutdown');
  expect(failing.consoleLog).toContain('app 1 (exit 3) exited with 3');
  expect(failing.consoleLog).toContain('app 2 (exit 4) exited with 4');
});

test('a domain with no apps idles until the toolstack asks it to shut down', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, { name: 'idler', memory: '4M' });
  await lineMatching(dom, /^pvkit guest kernel/);
  await new Promise((r) => setTimeout(r, 200));
  expect(dom.alive).toBe(true);
  expect(dom.stats().vcpu).toBe('blocked');
  const exit = await within(vmm.shutdown(dom, 5000), 10_000, 'shutdown');
  expect(exit).toEqual({ reason: 'poweroff', code: 0 });
  expect(dom.consoleLog).toContain('shutdown requested by the toolstack');
});

test('pause holds a domain (its timer too); unpause lets it finish', async () => {
  const vmm = testVmm();
  const [dom] = await boot(vmm, { name: 'pausable', memory: '4M', apps: ['sleep 0.3'] });
  await lineMatching(dom, /^pvkit guest kernel/);
  await vmm.pause(dom);
  expect(dom.state).toBe('paused');
  await new Promise((r) => setTimeout(r, 600));
  expect(dom.alive).toBe(true);
  expect(dom.stats().timerFires).toBe(0);
  await vmm.unpause(dom);
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  expect(dom.stats().timerFires).toBeGreaterThanOrEqual(1);
});

test('8 domains at once, each with its own console', async () => {
  const vmm = testVmm();
  const names = Array.from({ length: 8 }, (_, i) => `vm${i}`);
  const doms = await boot(vmm, {
    domains: names.map((name) => ({ name, memory: '4M', apps: ['hello', 'sleep 0.2'] })),
  });
  expect(vmm.workerCount()).toBe(9);
  const exits = await within(Promise.all(doms.map((d) => d.exited)), 30_000, '8 domains');
  expect(exits).toEqual(names.map(() => ({ reason: 'poweroff', code: 0 })));
  for (const [i, d] of doms.entries()) {
    expect(d.consoleLog).toContain(`Hello, world, from vm${i} (domid ${i + 1})!`);
    expect(d.consoleLog.filter((l) => l.includes('Hello'))).toHaveLength(1);
  }
});

test.each([
  [
    'magic',
    'pvkit: start_info magic 0xdeadbeef is not 0x314b5650 ("PVK1"): not booted by a pvkit VMM',
  ],
  ['abi', "pvkit: start_info ABI version 2.3 does not match this kernel's 1.x"],
])(
  'a start_info with a bad %s: one clear console line, then shutdown(crash)',
  async (what, line) => {
    const vmm = testVmm();
    const [dom] = await vmm.createDomains([
      guestConfig(`bad-${what}`, what, {
        kernel: new URL('./guests/tampered.ts', import.meta.url).pathname,
      }),
    ]);
    vmm.start(dom);
    expect(await exitOf(dom)).toEqual({ reason: 'crash', code: 1, detail: line });
    expect(dom.consoleLog).toEqual([line]);
    expect(dom.state).toBe('crashed');
  },
);
