// Event channels between real domains, and the 2-level masking rules seen
// from a guest.
import { expect, test } from 'vitest';
import { boot, exitOf, guestConfig, lineMatching, testVmm } from './lib/harness.ts';

test('two domains bounce an interdomain event; both count every send and delivery', async () => {
  const vmm = testVmm();
  const rounds = 300;
  const [ping, pong] = await boot(vmm, {
    domains: [
      { name: 'ping', memory: '4M', apps: [`evtchn-pingpong ping @pong ${rounds}`] },
      { name: 'pong', memory: '4M', apps: [`evtchn-pingpong serve @ping ${rounds}`] },
    ],
  });
  expect(await exitOf(ping)).toEqual({ reason: 'poweroff', code: 0 });
  expect(await exitOf(pong)).toEqual({ reason: 'poweroff', code: 0 });
  expect(
    ping.consoleLog.some((l) => l.startsWith(`evtchn-pingpong: ${rounds} round trips, `)),
  ).toBe(true);
  expect(pong.consoleLog).toContain(`evtchn-pingpong: echoed ${rounds} events`);
  const sent = (d: typeof ping) => d.stats().ports.reduce((s, p) => s + p.sends, 0);
  const delivered = (d: typeof ping) => d.stats().ports.reduce((s, p) => s + p.deliveries, 0);
  expect(sent(ping)).toBe(rounds);
  expect(sent(pong)).toBe(rounds);
  expect(delivered(pong)).toBe(rounds);
  expect(delivered(ping)).toBeGreaterThanOrEqual(rounds); // plus its timer's VIRQs
});

test('an event sent while its port is masked is pending only, and arrives on unmask', async () => {
  const vmm = testVmm();
  const [dom] = await vmm.createDomains([guestConfig('masked', 'masked-event')]);
  vmm.start(dom);
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  const port = Number(dom.consoleLog.find((l) => l.startsWith('port '))?.split(' ')[1]);
  expect(port).toBeGreaterThan(0);
  expect(dom.consoleLog).toEqual([
    `port ${port}`,
    'pending-while-masked 1',
    'upcall-while-masked 0',
    'upcall-after-unmask 1',
    `selector-after-unmask ${1 << (port >>> 5)}`,
  ]);
});

test('sched_op(poll) times out with nothing pending; console input raises VIRQ_CONSOLE and ends the poll', async () => {
  const vmm = testVmm();
  const [dom] = await vmm.createDomains([guestConfig('poller', 'console-poll')]);
  vmm.start(dom);
  await lineMatching(dom, /^ready$/);
  const timeout = dom.consoleLog[0].match(/^poll-timeout (-?\d+) after-ms (\d+) pending (\d)$/);
  expect(timeout?.[1]).toBe('0');
  expect(Number(timeout?.[2])).toBeGreaterThanOrEqual(100);
  expect(timeout?.[3]).toBe('0');
  vmm.consoleInput(dom, 'hi there');
  expect(await exitOf(dom)).toEqual({ reason: 'poweroff', code: 0 });
  expect(dom.consoleLog.slice(2)).toEqual(['read hi there', 'read-again 0']);
});
