// `pvkit stat` against a running `pvkit run`: it finds the VMM by its control
import type { ChildProcess } from 'node:child_process';
// socket, shows per-domain rates, and the socket is gone when the run ends.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { cliTmp, pvkit, pvkitAsync, until } from './support/cli.ts';

const running: { child: ChildProcess }[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

function busyConfig(tmp: string): string {
  const file = join(tmp, 'busy.json');
  writeFileSync(
    file,
    JSON.stringify({
      domains: [
        { name: 'busy', memory: '8M', apps: ['hcall-bench null 100000000'] },
        { name: 'idler', memory: '8M', apps: ['sleep 60'] },
      ],
    }),
  );
  return file;
}

test('stat finds the running VMM and shows its domains; the socket goes away with the run', async () => {
  const tmp = cliTmp();
  const run = pvkitAsync(['run', busyConfig(tmp)], { tmp });
  running.push(run);
  await until(
    () => run.out().includes('* idler (domid 2): running'),
    30_000,
    'both domains running',
  );
  const sock = join(tmp, `pvkit-${run.child.pid}.sock`);
  expect(existsSync(sock)).toBe(true);

  const r = pvkit(['stat', '--once', '--interval', '0.5'], { tmp });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(
    new RegExp(
      `^pvkit stat: VMM pid ${run.child.pid} \\(run .*busy\\.json\\), up [\\d.]+ s, 2 live of 2 domains, rates over 0\\.5 s$`,
    ),
  );
  expect(lines[1]).toMatch(
    /^DOMAIN +ID +STATE +HCALL\/s +EVENT\/s +KICK\/s +IRQ\/s +BLK MB\/s +NET pkt\/s +NET MB\/s$/,
  );
  const busy = lines.find((l) => l.startsWith('busy '));
  expect(busy).toMatch(/^busy +1 +running +[\d.]+[kM]? /);
  expect(Number.parseFloat(busy?.split(/\s+/)[3] ?? '0')).toBeGreaterThan(0); // traps per second
  expect(r.stdout).toMatch(/^ {2}calls\/s: xen_version [\d.]+[kM]?/m);
  expect(lines.some((l) => /^idler +2 +running/.test(l))).toBe(true);

  // --pid picks it by number as well.
  const byPid = pvkit(['stat', '--once', '--interval', '0.2', '--pid', String(run.child.pid)], {
    tmp,
  });
  expect(byPid.status).toBe(0);
  expect(byPid.stdout).toContain(`VMM pid ${run.child.pid}`);

  run.child.kill('SIGINT');
  expect(await run.exit).toBe(130);
  expect(run.out()).toContain('* interrupted: destroying every domain');
  expect(run.out()).toContain('* busy (domid 1): destroyed');
  expect(existsSync(sock)).toBe(false);
  expect(readdirSync(tmp).filter((f) => f.endsWith('.sock'))).toEqual([]);
}, 90_000);

test('run --stat prints the live table as plain lines when not on a terminal', async () => {
  const tmp = cliTmp();
  const file = join(tmp, 'short.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'napper',
      memory: '8M',
      apps: ['sleep 2.5', 'hcall-bench null 200000'],
    }),
  );
  const r = pvkit(['run', file, '--stat'], { tmp, timeoutMs: 60_000 });
  expect(r.status).toBe(0);
  expect(r.stdout).not.toContain('\x1b['); // no cursor movement into a pipe
  const tables = r.stdout.split('\n').filter((l) => l.startsWith('pvkit stat: VMM pid'));
  expect(tables.length).toBeGreaterThanOrEqual(2);
  expect(r.stdout).toMatch(/^napper +1 +running/m);
  expect(r.stdout).toContain('* napper (domid 1): shut down (poweroff), exit code 0');
});

test('stat shows an ended domain from its record (frozen counters) next to a live one', async () => {
  const tmp = cliTmp();
  const file = join(tmp, 'ended.json');
  writeFileSync(
    file,
    JSON.stringify({
      domains: [
        { name: 'idler', memory: '8M', apps: ['sleep 60'] },
        { name: 'quick', memory: '8M', apps: ['exit 3'] },
      ],
    }),
  );
  const run = pvkitAsync(['run', file], { tmp });
  running.push(run);
  await until(
    () => run.out().includes('* quick (domid 2): shut down (poweroff), exit code 3'),
    30_000,
    'quick ends',
  );
  const r = pvkit(['stat', '--once', '--interval', '0.2'], { tmp });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/1 live of 2 domains/);
  expect(r.stdout).toMatch(/^quick +2 +shutdown +0 /m);
  expect(r.stdout).toMatch(/^idler +1 +running /m);
  run.child.kill('SIGINT');
  expect(await run.exit).toBe(130);
}, 90_000);
