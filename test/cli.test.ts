// `pnpm pvkit run <config.json>` as a user runs it: a real process.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliTmp } from './support/cli.ts';

const root = new URL('..', import.meta.url).pathname;
const pvkit = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'packages/vmm/src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });

test('run boots the domain, prints its console with its name, exits 0', () => {
  const r = pvkit('run', 'packages/vmm/examples/hello.json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toBe('* hello (domid 1): running');
  expect(lines).toContain('[hello] pvkit guest kernel 0.1.0 (ABI 1.0) on domain hello (domid 1)');
  expect(lines).toContain('[hello] Hello, world, from hello (domid 1)!');
  expect(lines.at(-1)).toBe('* hello (domid 1): shut down (poweroff), exit code 0');
});

test('a crash makes the exit status 1; --stats prints counters', () => {
  const r = pvkit('run', 'packages/vmm/examples/crash.json', '--stats');
  expect(r.status).toBe(1);
  expect(r.stdout).toContain(
    '* crashy (domid 1): crashed: panic: Error: app "crash something went wrong" threw',
  );
  expect(r.stdout).toMatch(/stats of crashy \(domid 1, crashed\): \d+ traps/);
});

test('a bad config is one line on stderr and status 2, before any domain starts', () => {
  const dir = cliTmp();
  const file = join(dir, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      domains: [
        { name: 'a', apps: ['hello'] },
        { name: 'b', memory: '1T' },
      ],
    }),
  );
  const r = pvkit('run', file);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toBe(
    `pvkit: ${file}: domains[1].memory: must look like "64M", "512K" or "1G", got "1T"\n`,
  );
  writeFileSync(file, '{ "name": ');
  expect(pvkit('run', file).stderr).toMatch(/^pvkit: .*bad\.json: not valid JSON \(.*\)\n$/);
  expect(pvkit('start').stderr).toBe(
    'pvkit: unknown command "start"; commands: run, stat, restart, trace, bench, demo, help (pvkit --help)\n',
  );
});
