// Guests that misbehave on a shared switch: a driver whose tx ring is full
// of broken chains (and which then breaks the ring itself), and a driver
// that never posts an rx buffer. The switch answers each broken chain,
// counts it, drops what it cannot deliver, and keeps serving the others.
import { expect, test } from 'vitest';
import { liveSwitches } from '../packages/vmm/src/index.ts';
import { exitOf, lineMatching, testVmm, until } from './lib/harness.ts';
import { freshSwitch, hostileDomain, netDomain, nicCounters } from './support/net-harness.ts';

test("a hostile driver's malformed tx chains do not stop the switch", async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [h] = await vmm.createDomains([hostileDomain('evil', 'malformed', sw)]);
  vmm.start(h);
  expect(await lineMatching(h, /^needs-reset /), h.consoleText()).toBe('needs-reset 1');
  // Every chain was given back (length 0: the device wrote nothing), none leaked.
  expect(h.consoleLog).toContain('tx-used 9 of 9 all lens 0,0,0,0,0,0,0,0,0');
  const c = nicCounters(h);
  // Outside memory, INDIRECT not negotiated, a descriptor loop: malformed chains.
  expect(c.txMalformed).toBe(3);
  // Short header, device-writable buffer, csum_start past the frame, unknown GSO, DATA_VALID.
  expect(c.txBadHeader).toBe(5);
  // The one good frame went out to every other port (there was none yet).
  expect(c.txFrames).toBe(1);
  expect(c.txBroken).toBe(1);
  expect(liveSwitches()).toContain(sw);

  // Two well-behaved guests on the same switch do not notice.
  const [a, b] = await vmm.createDomains([
    netDomain(
      'good-a',
      [{ backend: 'switch', switch: sw, ip: '10.1.0.1/24' }],
      ['ping 10.1.0.2 5 20'],
    ),
    netDomain('good-b', [{ backend: 'switch', switch: sw, ip: '10.1.0.2/24' }], ['idle 1']),
  ]);
  for (const d of [a, b]) vmm.start(d);
  expect(await exitOf(a), a.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
  expect(a.consoleLog).toContain('5 packets transmitted, 5 received, 0% packet loss');
  await exitOf(b);
  // The hostile NIC never posted an rx buffer: the ARP broadcasts for it were dropped and counted.
  expect(nicCounters(h).rxDropped).toBeGreaterThanOrEqual(1);
  await vmm.destroy(h);
  expect(liveSwitches()).not.toContain(sw);
});

test('rx starvation: frames for a guest with no rx buffers are dropped and counted', async () => {
  const vmm = testVmm();
  const sw = freshSwitch();
  const [starved] = await vmm.createDomains([hostileDomain('starved', 'starve', sw)]);
  vmm.start(starved);
  await lineMatching(starved, /^hostile done$/);
  // Broadcasts (ARP for an address nobody has) reach the starved port: it has no buffer.
  const [a] = await vmm.createDomains([
    netDomain(
      'asker',
      [{ backend: 'switch', switch: sw, ip: '10.2.0.1/24' }],
      ['ping 10.2.0.9 2 50'],
    ),
  ]);
  vmm.start(a);
  const exit = await exitOf(a);
  expect(exit.code, a.consoleText()).toBe(1); // nobody answered
  expect(a.consoleLog).toContain('2 packets transmitted, 0 received, 100% packet loss');
  await until(() => nicCounters(starved).rxDropped >= 2, 5000, 'drops counted');
  const c = nicCounters(starved);
  expect(c.rxFrames).toBe(0);
  expect(c.rxChains).toBe(0);
  // The sender's port saw every frame delivered or dropped, nothing stuck.
  expect(nicCounters(a).txFlooded).toBeGreaterThanOrEqual(2);
});
