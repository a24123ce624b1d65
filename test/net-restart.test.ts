// A NIC whose backend died comes back (issue 7): the switch worker is
// killed under two guests, both drivers see DEVICE_NEEDS_RESET and wait;
// Vmm.restartDevice plugs each NIC into a fresh switch (same name), the
// drivers reset and re-probe, refill their rx rings, the stacks keep their
// sockets, and ping works again. Workers are back to baseline afterwards.
import { createSocket } from 'node:dgram';
import { expect, test } from 'vitest';
import { liveSwitches } from '../packages/vmm/src/index.ts';
import { exitOf, lineMatching, testVmm, until, within } from './lib/harness.ts';
import { freshSwitch, netDomain } from './support/net-harness.ts';

const on = (sw: string, ip: string) => [{ backend: 'switch', switch: sw, ip }];
const lastIndex = (log: string[], re: RegExp) => log.findLastIndex((l) => re.test(l));

test('kill the switch, restart both NICs: the guests re-probe and ping again', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [a, b] = await vmm.createDomains([
    netDomain('ra', on(sw, '10.0.7.1/24'), [
      'seq ping 10.0.7.2 2 50 ; sleep 5 ; ping 10.0.7.2 3 50',
      // Pings while the NIC is down (the test restarts it only after this
      // ping ended): the app sees errors or losses, nothing hangs.
      'seq sleep 0.8 ; ping 10.0.7.2 2 50',
    ]),
    netDomain('rb', on(sw, '10.0.7.2/24'), ['idle 8']),
  ]);
  for (const d of [a, b]) vmm.start(d);
  await lineMatching(a, /^2 packets transmitted, 2 received/);
  const before = vmm.workerCount(); // service, two vCPUs, the switch
  expect(before).toBe(4);
  await a.devices[0].workers?.[0].terminate();
  for (const d of [a, b])
    await lineMatching(d, /^virtio-net: eth0: re-probe failed \(device-needs-reset/);
  expect(liveSwitches()).not.toContain(sw);
  await lineMatching(a, /^seq: "ping 10\.0\.7\.2 2 50" exited with 1/, 10_000);
  await within(vmm.restartDevice(a, 'eth0'), 10_000, 'restart ra/eth0');
  await within(vmm.restartDevice(b.domid, 'eth0'), 10_000, 'restart rb/eth0');
  expect(liveSwitches()).toContain(sw);
  expect(vmm.workerCount()).toBe(before); // one fresh switch for both
  for (const d of [a, b])
    await lineMatching(d, /^virtio-net: eth0: re-probed after a reset \(recovery 1\)/);
  expect(await exitOf(a, 20_000), a.consoleText()).toEqual({ reason: 'poweroff', code: 1 });
  const log = a.consoleLog;
  expect(log.some((l) => l.startsWith('app 0 (') && l.endsWith('exited with 0'))).toBe(true);
  // The ping during the outage got nothing back; the one after the re-probe got every reply.
  expect(log).toContain('ping: sendmsg: ENOBUFS');
  expect(log.some((l) => /^\d packets transmitted, 0 received, 100% packet loss$/.test(l))).toBe(
    true,
  );
  expect(lastIndex(log, /^3 packets transmitted, 3 received, 0% packet loss/)).toBeGreaterThan(
    lastIndex(log, /^virtio-net: eth0: re-probed after a reset/),
  );
  await exitOf(b, 20_000);
  await until(() => vmm.workerCount() === 1, 5000, 'the switch stops after its last NIC');
  expect(liveSwitches()).not.toContain(sw);
}, 60_000);

/** A free UDP port on 127.0.0.1 (bound to port 0, then released). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a dgram wire NIC: its worker dies, the restart binds the same port, ping works again', async () => {
  const vmm = testVmm();
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const wire = (local: number, remote: number, ip: string) => [
    { backend: 'dgram', local: `127.0.0.1:${local}`, remote: `127.0.0.1:${remote}`, ip },
  ];
  const [a, b] = await vmm.createDomains([
    netDomain('wa', wire(pa, pb, '10.0.8.1/24'), [
      'seq ping 10.0.8.2 2 50 ; sleep 3 ; ping 10.0.8.2 3 50',
    ]),
    netDomain('wb', wire(pb, pa, '10.0.8.2/24'), ['idle 6']),
  ]);
  for (const d of [a, b]) vmm.start(d);
  await lineMatching(a, /^2 packets transmitted, 2 received/);
  await a.devices[0].workers?.[0].terminate();
  await lineMatching(a, /^vmm: eth0 queue 0 backend exited/);
  await lineMatching(a, /^virtio-net: eth0: re-probe failed \(device-needs-reset/);
  expect(b.consoleLog.some((l) => l.includes('needs a reset'))).toBe(false); // its own wire lives
  await within(vmm.restartDevice(a, 'eth0'), 10_000, 'restart wa/eth0');
  expect(await exitOf(a, 20_000), a.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
  const log = a.consoleLog;
  expect(lastIndex(log, /^3 packets transmitted, 3 received, 0% packet loss/)).toBeGreaterThan(
    lastIndex(log, /^virtio-net: eth0: re-probed after a reset \(recovery 1\)/),
  );
  await exitOf(b, 20_000);
  await until(() => vmm.workerCount() === 1, 5000, 'every worker but the service gone');
}, 60_000);
