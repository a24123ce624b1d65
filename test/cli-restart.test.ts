// `pvkit restart` against a running `pvkit run`: the VMM restarts a disk's
// backend, the guest re-probes it and its app goes on; mistakes are one line.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { cliTmp, pvkit, pvkitAsync, until } from './support/cli.ts';

const running: { child: ChildProcess }[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.child.kill('SIGKILL');
});

test('pvkit restart: a fresh backend, the guest re-probes, the run ends well', async () => {
  const tmp = cliTmp();
  const cfg = join(tmp, 'rs.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      name: 'rsd',
      memory: '16M',
      disks: [{ path: ':memory:', size: '1M' }],
      apps: ['seq blkio vda write=0,64k,9 flush ; sleep 8 ; blkio vda check=0,64k,9'],
    }),
  );
  const run = pvkitAsync(['run', cfg], { tmp });
  running.push(run);
  await until(() => run.out().includes('blkio: step 1 flush: ok'), 30_000, 'the first blkio');
  const bad = pvkit(['restart', 'rsd', 'vdq'], { tmp });
  expect(bad.stderr).toBe('pvkit: rsd: no device "vdq" (devices: vda)\n');
  expect(bad.status).toBe(3);
  const r = pvkit(['restart', 'rsd', 'vda'], { tmp });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('rsd (domid 1): vda: backend restarted; the guest re-probes it\n');
  expect(r.status).toBe(0);
  expect(await run.exit).toBe(0);
  expect(run.out()).toContain('[rsd] virtio-blk: vda: re-probed after a reset (recovery 1)');
  expect(run.out()).toContain('[rsd] blkio: step 0 check=0,64k,9: ok');
  expect(run.out().indexOf('re-probed after a reset')).toBeLessThan(
    run.out().indexOf('check=0,64k,9: ok'),
  );
}, 60_000);

test('pvkit restart without a running VMM, or without a device: one line', () => {
  const tmp = cliTmp();
  const none = pvkit(['restart', 'x', 'vda'], { tmp });
  expect(none.status).toBe(3);
  expect(none.stderr).toMatch(/^pvkit: no running pvkit VMM found/);
  const usage = pvkit(['restart', 'x'], { tmp });
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/^pvkit: missing device; usage: pvkit restart <domain> <device>/);
});
