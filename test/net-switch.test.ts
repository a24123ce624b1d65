// virtio-net through the switch, end to end: real guest kernels in their
// vCPU workers, the switch in its own worker, frames copied between the
// guests' memories. Guests ping each other, a broadcast reaches everyone,
// UDP crosses with checksums right whatever each side negotiated, small
// rx buffers are merged, and the switch goes away with its last NIC.
import { describe, expect, test } from 'vitest';
import { liveSwitches } from '../packages/vmm/src/index.ts';
import { exitOf, lineMatching, testVmm, until } from './lib/harness.ts';
import { freshSwitch, linesOf, netDomain, nicCounters } from './support/net-harness.ts';

const on = (sw: string, ip: string, extra: Record<string, unknown> = {}) => [
  { backend: 'switch', switch: sw, ip, ...extra },
];

describe('two guests on a switch', () => {
  test('ping each other, both ways, with RTTs and no loss', async () => {
    const vmm = testVmm();
    const sw = freshSwitch();
    const [a, b] = await vmm.createDomains([
      netDomain('alice', on(sw, '10.0.0.1/24'), ['ping 10.0.0.2 4 50', 'idle 1']),
      netDomain('bob', on(sw, '10.0.0.2/24'), ['ping 10.0.0.1 4 50', 'idle 1']),
    ]);
    for (const d of [a, b]) vmm.start(d);
    for (const [d, peer] of [
      [a, '10.0.0.2'],
      [b, '10.0.0.1'],
    ] as const) {
      expect(await exitOf(d), d.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
      expect(d.consoleLog).toContain('4 packets transmitted, 4 received, 0% packet loss');
      expect(linesOf(d, `64 bytes from ${peer}: icmp_seq=`)).toHaveLength(4);
      expect(
        d.consoleLog.some((l) => /^rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/.test(l)),
      ).toBe(true);
    }
    // The switch counted what crossed: 4 echo requests and 4 replies each way, plus ARP.
    const ca = nicCounters(a);
    expect(ca.txFrames).toBeGreaterThanOrEqual(8);
    expect(ca.rxFrames).toBeGreaterThanOrEqual(8);
    expect(ca.txBadHeader + ca.txMalformed).toBe(0);
    // Only what bob sent before alice had posted rx buffers (its link-up
    // announcement, its first ARP requests) can have found none.
    expect(ca.rxDropped).toBeLessThanOrEqual(4);
  });

  test('the default MAC is derived from the domain name; a configured one is used', async () => {
    const vmm = testVmm();
    const sw = freshSwitch();
    const [a, b] = await vmm.createDomains([
      netDomain('mac-a', on(sw, '10.0.2.1/24', { mac: '52:54:00:12:34:56' }), ['idle 0.2']),
      netDomain('mac-b', on(sw, '10.0.2.2/24'), ['idle 0.2']),
    ]);
    for (const d of [a, b]) vmm.start(d);
    await Promise.all([exitOf(a), exitOf(b)]);
    expect(a.consoleLog.some((l) => l.includes('eth0: mac 52:54:00:12:34:56'))).toBe(true);
    // deriveMac: locally administered, unicast; stable for the name.
    const m = /eth0: mac ([0-9a-f:]{17})/.exec(b.consoleText())?.[1] ?? '';
    expect(Number.parseInt(m.slice(0, 2), 16) & 3).toBe(2);
  });
});

test('with three guests, a broadcast ARP reaches all; unicast reaches only its target', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [b1, b2] = await vmm.createDomains([
    netDomain('b1', on(sw, '10.0.1.2/24'), ['idle 1.5']),
    netDomain('b2', on(sw, '10.0.1.3/24'), ['idle 1.5']),
  ]);
  for (const d of [b1, b2]) vmm.start(d);
  // Both listen before b0 comes up: b0 knows nobody and must ask by broadcast.
  for (const d of [b1, b2]) await lineMatching(d, /^idle: up/);
  const [b0] = await vmm.createDomains([
    netDomain('b0', on(sw, '10.0.1.1/24'), ['ping 10.0.1.2 3 50']),
  ]);
  vmm.start(b0);
  const doms = [b1, b2, b0];
  for (const d of doms) expect(await exitOf(d), d.consoleText()).toMatchObject({ code: 0 });
  const stat = (d: typeof b0) =>
    /arp requests in (\d+), arp replies sent (\d+), echo requests in (\d+)/.exec(
      linesOf(d, 'idle: eth0:')[0] ?? '',
    );
  const s1 = stat(b1);
  const s2 = stat(b2);
  // b0's ARP request for 10.0.1.2 (and its gratuitous ARP) went to every port...
  expect(Number(s1?.[1])).toBeGreaterThanOrEqual(1);
  expect(Number(s2?.[1])).toBeGreaterThanOrEqual(1);
  // ...b2 never answered (b1 may not have had to: b0 can learn b1's MAC from
  // b1's gratuitous ARP if b1's link came up late), and only b1 saw the echo
  // requests (the switch learned).
  expect(Number(s2?.[2])).toBe(0);
  expect(Number(s1?.[3])).toBe(3);
  expect(Number(s2?.[3])).toBe(0);
  expect(nicCounters(b0).txFlooded).toBeGreaterThanOrEqual(1);
});

describe('UDP across the switch, checksums right whatever was negotiated', () => {
  const cases = [
    { name: 'both offload', client: '', server: '', completed: false, dataValid: true },
    {
      name: 'sender offloads, receiver checks',
      client: '',
      server: 'net.csum=off',
      completed: true,
      dataValid: false,
    },
    {
      name: 'no offload on either side',
      client: 'net.csum=off',
      server: 'net.csum=off',
      completed: false,
      dataValid: false,
    },
  ];
  for (const c of cases)
    test(c.name, async () => {
      const vmm = testVmm();
      const sw = freshSwitch();
      const [srv, cli] = await vmm.createDomains([
        netDomain('echo', on(sw, '10.0.3.2/24'), ['udp-echo 7'], { cmdline: c.server }),
        netDomain('client', on(sw, '10.0.3.1/24'), ['netperf rr 10.0.3.2 7 600 0.4'], {
          cmdline: c.client,
        }),
      ]);
      for (const d of [srv, cli]) vmm.start(d);
      expect(await exitOf(cli), cli.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
      const json = JSON.parse(linesOf(cli, 'netperf-json ')[0].slice(13));
      expect(json.transactions).toBeGreaterThan(10);
      expect(json.corrupt).toBe(0);
      // The client's stack checked every answer that did not come DATA_VALID.
      expect(json.badChecksums).toBe(0);
      await vmm.shutdown(srv, 2000);
      const toSrv = nicCounters(srv);
      const toCli = nicCounters(cli);
      // Requests go client -> echo, answers back: each side's frames were
      // completed by the switch or delivered DATA_VALID as negotiated.
      expect(toSrv.csumCompleted > 0).toBe(c.completed);
      expect(toSrv.csumDataValid > 0).toBe(c.dataValid);
      expect(toCli.csumDataValid > 0).toBe(c.dataValid);
    });
});

test('small rx buffers: frames are spread over several (MRG_RXBUF) and arrive whole', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [srv, cli] = await vmm.createDomains([
    netDomain('merge-echo', on(sw, '10.0.4.2/24'), ['udp-echo 7'], { cmdline: 'net.rxbuf=256' }),
    netDomain('merge-cli', on(sw, '10.0.4.1/24'), ['netperf rr 10.0.4.2 7 1472 0.3'], {
      cmdline: 'net.rxbuf=300',
    }),
  ]);
  for (const d of [srv, cli]) vmm.start(d);
  expect(await exitOf(cli), cli.consoleText()).toMatchObject({ code: 0 });
  const json = JSON.parse(linesOf(cli, 'netperf-json ')[0].slice(13));
  expect(json.transactions).toBeGreaterThan(5);
  expect(json.corrupt).toBe(0);
  expect(nicCounters(srv).rxMerged).toBeGreaterThan(5);
  expect(nicCounters(cli).rxMerged).toBeGreaterThan(5);
  expect(srv.consoleLog.some((l) => l.includes('rx buffers 256 B'))).toBe(true);
});

test('the switch worker starts with the first NIC and is gone after the last domain', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const before = vmm.workerCount();
  const [a, b] = await vmm.createDomains([
    netDomain('life-a', on(sw, '10.0.5.1/24'), ['idle']),
    netDomain('life-b', on(sw, '10.0.5.2/24'), ['ping 10.0.5.1 1']),
  ]);
  expect(liveSwitches()).toContain(sw);
  for (const d of [a, b]) vmm.start(d);
  expect(await exitOf(b), b.consoleText()).toMatchObject({ code: 0 });
  // b is gone; a still holds the switch.
  expect(liveSwitches()).toContain(sw);
  await vmm.destroy(a);
  expect(liveSwitches()).not.toContain(sw);
  await until(() => vmm.workerCount() <= Math.max(before, 1), 5000, 'workers released');
});
