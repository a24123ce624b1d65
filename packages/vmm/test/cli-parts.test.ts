// The CLI's pieces that need no VMM: the live view's terminal output, the
// latency histogram, rates from two snapshots.
import { expect, test } from 'vitest';
import { Histogram } from '../src/cli/histogram.ts';
import { LiveView } from '../src/cli/live.ts';
import { compact, domainRates } from '../src/cli/rates.ts';
import type { DeviceStats, DomainStats } from '../src/toolstack/domain.ts';

function sink(tty: boolean, columns = 80) {
  const out = { text: '', isTTY: tty, columns, write: (s: string) => (out.text += s) };
  return out;
}

test('on a terminal the table is redrawn in place and log lines go above it', () => {
  const out = sink(true, 30);
  const v = new LiveView(out);
  v.show(['table 1', 'row']);
  v.line('a log line');
  v.show(['table 2', 'row', 'a very long row that is wider than the terminal']);
  expect(out.text).toBe(
    'table 1\nrow\n' +
      '\x1b[2A\r\x1b[J' + // erase the table, write the line, redraw the table under it
      'a log line\ntable 1\nrow\n' +
      '\x1b[2A\r\x1b[J' +
      'table 2\nrow\na very long row that is wider\n', // cut to the width: no wrap to throw the redraw off
  );
  v.release();
  v.line('after');
  expect(out.text.endsWith('wider\nafter\n')).toBe(true); // the last table stays
});

test('elsewhere every table is printed in turn, with no escape codes', () => {
  const out = sink(false);
  const v = new LiveView(out);
  v.show(['t1']);
  v.line('log');
  v.show(['t2']);
  expect(out.text).toBe('t1\n\nlog\nt2\n\n');
});

test('histogram percentiles are within 1% of the exact ones; count, total and max exact', () => {
  const h = new Histogram();
  const values: number[] = [];
  let x = 12345;
  for (let i = 0; i < 20000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = Math.round(100 + (x % 1_000_000) ** 1.3 / 1000);
    values.push(v);
    h.add(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1];
    expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.0101);
  }
  expect(h.count).toBe(values.length);
  expect(h.max).toBe(values.at(-1));
  expect(h.total).toBe(values.reduce((s, v) => s + v, 0));
  expect(h.quantile(1)).toBe(h.max);
  const zero = new Histogram();
  zero.add(0);
  expect([zero.quantile(0.5), zero.max]).toEqual([0, 0]);
  expect(new Histogram().quantile(0.5)).toBe(0);
});

function device(key: string, over: Partial<DeviceStats>): DeviceStats {
  const q = { kicks: 0, interrupts: 0, chains: 0, malformed: 0, bytes: 0, sleeps: 0, broken: 0 };
  return { name: 'd', key, ...q, queues: [], counters: {}, ...over };
}

function domain(over: Partial<DomainStats>): DomainStats {
  return {
    domid: 1,
    name: 'a',
    state: 'running',
    vcpu: 'running',
    hypercalls: 0,
    multicallEntries: 0,
    timerFires: 0,
    eventsDelivered: 0,
    blocks: 0,
    polls: 0,
    consoleBytes: 0,
    calls: [],
    ports: [],
    devices: [],
    ...over,
  };
}

test('rates: per second over the interval; blk and net from the device types own counters', () => {
  const before = domain({
    hypercalls: 100,
    eventsDelivered: 10,
    calls: [{ nr: 29, name: 'sched_op', count: 60, totalNs: 0, maxNs: 0 }],
    devices: [
      device('disks', { kicks: 5, interrupts: 4, counters: { bytesRead: 1e6, bytesWritten: 0 } }),
      device('nics', { chains: 7, bytes: 700 }),
    ],
  });
  const after = domain({
    hypercalls: 300,
    eventsDelivered: 30,
    calls: [
      { nr: 29, name: 'sched_op', count: 160, totalNs: 0, maxNs: 0 },
      { nr: 17, name: 'xen_version', count: 40, totalNs: 0, maxNs: 0 },
    ],
    devices: [
      device('disks', {
        kicks: 25,
        interrupts: 14,
        counters: { bytesRead: 5e6, bytesWritten: 2e6 },
      }),
      device('nics', { chains: 27, bytes: 2700 }), // no named counters: generic chains and bytes
    ],
  });
  const r = domainRates(before, after, 2);
  expect(r.hypercalls).toBe(100);
  expect(r.byCall).toEqual([
    { name: 'sched_op', rate: 50 },
    { name: 'xen_version', rate: 20 },
  ]);
  expect([r.events, r.kicks, r.interrupts]).toEqual([10, 10, 5]);
  expect(r.blkMBs).toBeCloseTo(3);
  expect([r.netPps, r.netMBs]).toEqual([10, 0.001]);
  const named = domain({
    devices: [
      device('nics', {
        chains: 99,
        counters: { txFrames: 4, rxFrames: 6, txBytes: 400, rxBytes: 600 },
      }),
    ],
  });
  expect(domainRates(undefined, named, 1)).toMatchObject({ netPps: 10, netMBs: 0.001 });
  expect(domainRates(undefined, named, 0).netPps).toBe(0);
});

test('compact numbers: three significant digits and a unit', () => {
  expect([0, 7.5, 12.34, 123.4, 999.4, 999.6, 12345, 2.5e6, 3e9].map(compact)).toEqual([
    '0',
    '7.50',
    '12.3',
    '123',
    '999',
    '1.00k',
    '12.3k',
    '2.50M',
    '3.00G',
  ]);
});
