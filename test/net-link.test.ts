// Link status end to end: Vmm.setLink pulls and plugs a NIC's cable while
// real guests run. The guest's driver sees the config change (a config
// interrupt on queue 0), its stack refuses to send (ENETDOWN) while the
// link is down and announces itself with a gratuitous ARP when it is back;
// the switch drops frames for a port whose link is down, and counts them.
import { expect, test } from 'vitest';
import { exitOf, lineMatching, testVmm, until } from './lib/harness.ts';
import { freshSwitch, linesOf, netDomain, nicCounters } from './support/net-harness.ts';

const on = (sw: string, ip: string) => [{ backend: 'switch', switch: sw, ip }];

test('a pulled cable: sends fail, frames for it are dropped, plugging it back announces the guest', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [a, b] = await vmm.createDomains([
    netDomain('link-a', on(sw, '10.0.7.1/24'), ['ping 10.0.7.2 400 50']),
    netDomain('link-b', on(sw, '10.0.7.2/24'), ['idle 30']),
  ]);
  for (const d of [a, b]) vmm.start(d);
  await lineMatching(a, /^64 bytes from 10\.0\.7\.2/);
  expect(vmm.setLink(a, 0, true)).toBe(false); // already up

  // a's own cable: its stack refuses to send.
  expect(vmm.setLink(a, 0, false)).toBe(true);
  await lineMatching(a, /virtio-net: eth0: link down/);
  await lineMatching(a, /^ping: sendmsg: ENETDOWN/);
  const flooded = nicCounters(a).txFlooded;
  expect(vmm.setLink(a, 0, true)).toBe(true);
  await lineMatching(a, /virtio-net: eth0: link up/);
  // The gratuitous ARP is a broadcast: the switch floods it.
  await until(() => nicCounters(a).txFlooded > flooded, 5000, 'gratuitous ARP flooded');

  // b's cable: a's echo requests reach the switch and are dropped there.
  expect(vmm.setLink(b, 0, false)).toBe(true);
  await lineMatching(b, /virtio-net: eth0: link down/);
  await until(() => nicCounters(b).rxLinkDown >= 2, 5000, 'frames for b dropped');
  const replies = linesOf(a, '64 bytes from 10.0.7.2').length;
  expect(vmm.setLink(b, 0, true)).toBe(true);
  await lineMatching(b, /virtio-net: eth0: link up/);
  await until(() => linesOf(a, '64 bytes from 10.0.7.2').length > replies, 5000, 'replies again');
  await vmm.destroy(a);
  await vmm.destroy(b);
});

test('setLink names what is wrong: no such NIC, a domain that is gone', async () => {
  const vmm = testVmm();
  const [a] = await vmm.createDomains([
    netDomain('link-err', on(freshSwitch(), '10.0.8.1/24'), ['idle 0.1']),
  ]);
  expect(() => vmm.setLink(a, 1, false)).toThrow(/has no NIC 1 \(it has 1\)/);
  vmm.start(a);
  await exitOf(a);
  expect(() => vmm.setLink(a, 0, false)).toThrow(/link-err is/);
});
