// The CLI's contract with a user: --help documents commands and exit codes;
// every mistake is one line on stderr naming the problem and the fix, with
// exit code 2 and nothing started; no stack traces.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliTmp, pvkit } from './support/cli.ts';

const oneLine = (s: string) => {
  expect(s.endsWith('\n')).toBe(true);
  expect(s.trimEnd().split('\n')).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /); // no stack trace
  expect(s).toMatch(/^pvkit: /);
};

test('--help lists the commands and every exit code; each command has its own help', () => {
  const r = pvkit(['--help']);
  expect(r.status).toBe(0);
  for (const cmd of ['run', 'stat', 'trace', 'bench', 'demo'])
    expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  expect(r.stdout).toContain('exit codes:');
  for (const [code, what] of [
    ['0', 'ok'],
    ['1', 'a guest failed'],
    ['2', 'usage or configuration error'],
    ['3', 'runtime or host error'],
    ['130', 'interrupted'],
  ])
    expect(r.stdout).toMatch(new RegExp(`^  ${code} +${what}`, 'm'));
  for (const cmd of ['run', 'stat', 'trace', 'bench', 'demo']) {
    const h = pvkit([cmd, '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(new RegExp(`^usage: pvkit ${cmd}`));
    expect(h.stdout).toContain('exit codes:');
  }
  expect(pvkit(['help', 'trace']).stdout).toMatch(/^usage: pvkit trace record/);
});

test('usage mistakes: one line, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [
      ['frob'],
      /^pvkit: unknown command "frob"; commands: run, stat, restart, trace, bench, demo, help/,
    ],
    [['run'], /^pvkit: missing <config\.json>; usage: pvkit run/],
    [['run', 'a.json', 'b.json'], /^pvkit: unexpected argument "b\.json"; usage: pvkit run/],
    [['run', 'a.json', '--bogus'], /^pvkit: Unknown option '--bogus'; usage: pvkit run/],
    [['stat', '--interval', '0'], /^pvkit: --interval takes a positive number, got "0"/],
    [['stat', '--pid', 'x'], /^pvkit: --pid takes a process id, got "x"/],
    [['trace'], /^pvkit: name a trace subcommand: record or report/],
    [
      ['trace', 'record', 'packages/vmm/examples/hello.json'],
      /^pvkit: name the output file with -o/,
    ],
    [
      ['trace', 'report', 'nowhere.trace'],
      /^pvkit: nowhere\.trace: no such file; record one with `pvkit trace record/,
    ],
    [['bench'], /^pvkit bench: name one benchmark family; usage: pnpm bench/],
    [['bench', 'disk'], /^pvkit bench: unknown family disk; usage/],
    [['help', 'nope'], /^pvkit: no command "nope"/],
  ];
  for (const [args, want] of cases) {
    const r = pvkit(args);
    expect([args, r.status]).toEqual([args, 2]);
    expect(r.stdout).toBe('');
    if (args[0] === 'bench') expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    else oneLine(r.stderr);
    expect(r.stderr).toMatch(want);
  }
});

test('run with a bad config: one line naming the key and the fix, exit 2, nothing started or created', () => {
  const tmp = cliTmp();
  const disk = join(tmp, 'a.img');
  const file = join(tmp, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      domains: [
        { name: 'a', apps: ['blkverify vda'], disks: [{ path: disk, size: '8M', create: true }] },
        { name: 'b', apps: ['helo'] },
      ],
    }),
  );
  const r = pvkit(['run', file, '--stat'], { tmp });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe(''); // no domain reached "running"
  oneLine(r.stderr);
  expect(r.stderr).toMatch(/domains\[1\]\.apps\[0\]: .*helo/);
  expect(existsSync(disk)).toBe(false); // the first domain's disk was never created
  expect(readdirSync(tmp).filter((f) => f.endsWith('.sock'))).toEqual([]); // no VMM listened

  writeFileSync(file, JSON.stringify({ name: 'c', disks: [{ path: disk, size: 'huge' }] }));
  const s = pvkit(['run', file], { tmp });
  expect(s.status).toBe(2);
  oneLine(s.stderr);
  expect(s.stderr).toMatch(/disks\[0\]: size: "huge" is not a size/);
});

test('stat with no VMM running says so in one line with the fix, exit 3', () => {
  const tmp = cliTmp();
  const r = pvkit(['stat'], { tmp });
  expect(r.status).toBe(3);
  oneLine(r.stderr);
  expect(r.stderr).toContain('no running pvkit VMM found');
  expect(r.stderr).toContain('pnpm pvkit run <config.json>');
  const p = pvkit(['stat', '--pid', '999999'], { tmp });
  expect(p.status).toBe(3);
  oneLine(p.stderr);
  expect(p.stderr).toMatch(/^pvkit: no pvkit VMM with pid 999999/);
});

test('an unwritable trace output is one line, exit 2, before anything starts', () => {
  const r = pvkit([
    'trace',
    'record',
    'packages/vmm/examples/hello.json',
    '-o',
    '/nonexistent/dir/x.trace',
  ]);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  oneLine(r.stderr);
  expect(r.stderr).toMatch(
    /cannot write \/nonexistent\/dir\/x\.trace \(ENOENT\); choose a writable path with -o/,
  );
});
