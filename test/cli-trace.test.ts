// `pvkit trace record` then `pvkit trace report`, as a user runs them: the
// file decodes with a plain msgpack decoder, holds every trap, multicall
// entry and event, and its per-call counts are exactly what the VMM counted.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliTmp, pvkit, ROOT } from './support/cli.ts';

// msgpackr is the VMM's dependency; decode with it as any outside reader would.
const { unpackMultiple } = createRequire(join(ROOT, 'packages/vmm/package.json'))('msgpackr') as {
  unpackMultiple: (b: Uint8Array) => Record<string, unknown>[];
};

interface EndDomain {
  domid: number;
  name: string;
  calls: { nr: number; name: string; count: number }[];
}

test('record streams every trap, entry and event; report matches the VMM counters', () => {
  const tmp = cliTmp();
  const config = join(tmp, 'three.json');
  writeFileSync(
    config,
    JSON.stringify({
      domains: [
        { name: 'ping', memory: '8M', apps: ['evtchn-pingpong ping @pong 3000'] },
        { name: 'pong', memory: '8M', apps: ['evtchn-pingpong serve @ping 3000'] },
        { name: 'batch', memory: '8M', apps: ['hcall-bench multicall 50', 'sleep 0.05'] },
      ],
    }),
  );
  const file = join(tmp, 'run.trace');
  // A ring of 8192 records for a run of tens of thousands: only draining while
  // it runs keeps up. (1024 dropped records when the 2 cores were loaded and
  // the 10 ms drain was descheduled for longer than the ring lasts.)
  const rec = pvkit(['trace', 'record', config, '-o', file, '--capacity', '8192'], {
    tmp,
    timeoutMs: 90_000,
  });
  expect(rec.stderr).toBe('');
  expect(rec.status).toBe(0);
  expect(rec.stdout).toContain('[ping] evtchn-pingpong');
  const summary = /\* trace: (\d+) records \(.* MB\) written to .*run\.trace; none dropped/.exec(
    rec.stdout,
  );
  expect(summary).not.toBeNull();

  const items = unpackMultiple(readFileSync(file));
  const [header, ...rest] = items;
  expect(header).toMatchObject({ kind: 'header', format: 'pvkit-trace', version: 1 });
  const end = rest.at(-1) as {
    kind: string;
    records: number;
    dropped: number;
    domains: EndDomain[];
  };
  expect(end.kind).toBe('end');
  expect(end.dropped).toBe(0);
  const domains = rest.filter((i) => i.kind === 'domain').map((i) => i.name);
  expect(domains).toEqual(['ping', 'pong', 'batch']);
  const records = rest.filter((i) => ['trap', 'entry', 'event'].includes(i.kind as string));
  expect(records.length).toBe(end.records);
  expect(records.length).toBe(Number(summary?.[1]));
  expect(records.length).toBeGreaterThan(10 * 1024);

  const traps = records.filter((r) => r.kind === 'trap');
  for (const t of traps.slice(0, 500)) {
    expect(Object.keys(t).sort()).toEqual(
      ['args', 'call', 'domid', 'duration', 'kind', 'nr', 'result', 'start', 'vcpu'].sort(),
    );
    expect(t.args).toHaveLength(6);
    expect(typeof t.duration).toBe('number');
  }
  expect(records.some((r) => r.kind === 'entry')).toBe(true);
  const events = records.filter((r) => r.kind === 'event');
  expect(events.filter((e) => e.outcome === 'delivered').length).toBeGreaterThanOrEqual(2 * 3000);

  // Per domain and call: traps + multicall entries in the file == the VMM's counters.
  const counted = new Map<string, number>();
  for (const r of records)
    if (r.kind !== 'event')
      counted.set(`${r.domid}:${r.nr}`, (counted.get(`${r.domid}:${r.nr}`) ?? 0) + 1);
  const expected = new Map<string, number>();
  for (const d of end.domains) for (const c of d.calls) expected.set(`${d.domid}:${c.nr}`, c.count);
  expect(Object.fromEntries(counted)).toEqual(Object.fromEntries(expected));
  const batch = end.domains.find((d) => d.name === 'batch');
  expect(batch?.calls.find((c) => c.name === 'multicall')?.count).toBeGreaterThan(0);

  const csv = join(tmp, 'report.csv');
  const rep = pvkit(['trace', 'report', file, '--csv', csv], { tmp });
  expect(rep.stderr).toBe('');
  expect(rep.status).toBe(0);
  expect(rep.stdout).toMatch(/^domain +call +calls +traps +p50 µs +p90 µs +p99 µs +max µs/m);
  expect(rep.stdout).toMatch(/^ping +event_channel_op +\d+/m);
  expect(rep.stdout).toContain('check: every call count matches what the VMM counted');
  const rows = readFileSync(csv, 'utf8').trim().split('\n');
  expect(rows[0]).toBe(
    'kind,domid,domain,name,nr,count,traps,p50_ns,p90_ns,p99_ns,max_ns,total_ns',
  );
  const calls = rows.slice(1).filter((r) => r.startsWith('call,'));
  expect(calls.length).toBe(expected.size);
  for (const row of calls) {
    const [, domid, , , nr, count, , p50, p90, p99, max] = row.split(',');
    expect(Number(count)).toBe(expected.get(`${domid}:${nr}`));
    expect(Number(p50)).toBeLessThanOrEqual(Number(p90));
    expect(Number(p90)).toBeLessThanOrEqual(Number(p99));
    expect(Number(p99)).toBeLessThanOrEqual(Number(max));
  }
});

test('report on a cut-short or foreign file: what it can, and one clear line', () => {
  const tmp = cliTmp();
  const file = join(tmp, 'hello.trace');
  expect(
    pvkit(['trace', 'record', 'packages/vmm/examples/hello.json', '-o', file], { tmp }).status,
  ).toBe(0);
  const whole = readFileSync(file);
  const cut = join(tmp, 'cut.trace');
  writeFileSync(cut, whole.subarray(0, whole.length - 7)); // ends inside the end record
  const r = pvkit(['trace', 'report', cut], { tmp });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^hello +console_io/m);
  expect(r.stdout).toContain('note: no end record');
  expect(r.stderr).toMatch(
    /^pvkit: .*cut\.trace ends in the middle of a record at byte \d+ \(the recording was cut short\)/,
  );
  const foreign = join(tmp, 'x.trace');
  writeFileSync(foreign, JSON.stringify({ hello: 1 }));
  const f = pvkit(['trace', 'report', foreign], { tmp });
  expect(f.status).toBe(2);
  expect(f.stderr).toMatch(
    /^pvkit: .*x\.trace: not a pvkit trace \(record one with `pvkit trace record/,
  );
});
