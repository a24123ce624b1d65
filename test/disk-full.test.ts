// Disk full, end to end, on a real host file: `pvkit run` under a lowered
// RLIMIT_FSIZE (Node ignores SIGXFSZ, so a write past the limit fails with
// EFBIG instead of killing the process), a sparse 64 MiB image whose
// logical size is past the limit. The guest's writes beyond the limit get
// IOERR through its app, which exits non-zero and says why; the backend
// counts them (errorsHostIo, in `--stats`); nothing crashes; the guest's
// later reads and writes below the limit still work; the file holds
// exactly what was acknowledged.
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { hostPattern } from './support/blk-harness.ts';
import { cliTmp, ROOT } from './support/cli.ts';

const MiB = 1 << 20;
// `ulimit -f` counts 512-byte blocks in POSIX shells (dash), 1024 in bash:
// 8 or 16 MiB. Every offset below is clear of both.
const LIMIT_BLOCKS = 16384;

test('a disk whose host file cannot grow: IOERR to the app, counted, no crash, reads still work', () => {
  const dir = cliTmp('pvkit-disk-full-');
  const image = join(dir, 'full.img');
  const fd = openSync(image, 'w');
  ftruncateSync(fd, 64 * MiB); // sparse: no block written
  closeSync(fd);
  const config = join(dir, 'full.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'full',
      memory: '16M',
      disks: [{ path: image }],
      apps: [
        'blkio vda write=1M,64K,7 write=40M,64K,9',
        'blkio vda write=2M,64K,5 !write=48M,4K,3 check=2M,64K,5 zero=56M,64K check=1M,4K,7',
      ],
    }),
  );
  const r = spawnSync(
    'sh',
    [
      '-c',
      `ulimit -f ${LIMIT_BLOCKS} && exec "$0" "$@"`,
      process.execPath,
      '--import',
      'tsx',
      'packages/vmm/src/cli/main.ts',
      'run',
      config,
      '--stats',
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const out = r.stdout;
  expect(r.signal, `${out}\n${r.stderr}`).toBeNull(); // no SIGXFSZ death, no timeout
  expect(r.stderr).toBe('');
  expect(r.status).toBe(1); // one app failed: the domain's exit code is 1, not a crash
  const lines = out.split('\n');
  // The app that wrote past the limit fails with the device's answer, and says so.
  expect(lines).toContain(
    '[full] blkio: step 1 write=40M,64K,9: FAILED: io-error: write at sector 81920: device said IOERR',
  );
  expect(lines).toContain('[full] app 0 (blkio vda write=1M,64K,7 write=40M,64K,9) exited with 1');
  // The VMM logs the host's reason; the other app's failed write and later I/O behave.
  expect(out).toMatch(/vmm: vda queue 0: host I\/O error on OUT at sector 81920: .*EFBIG/);
  for (const step of [
    '1 !write=48M,4K,3: failed as expected: io-error: write at sector 98304: device said IOERR',
    '2 check=2M,64K,5: ok',
    '3 zero=56M,64K: ok',
    '4 check=1M,4K,7: ok',
  ])
    expect(lines).toContain(`[full] blkio: step ${step}`);
  expect(lines).toContain('* full (domid 1): shut down (poweroff), exit code 1');
  // Counted, and shown by --stats once the domain has ended.
  expect(out).toMatch(/stats of full \(domid 1, shutdown\)/);
  expect(out).toMatch(/ {2}vda: .*errorsHostIo 2(,|$)/m);
  // On the host: the acknowledged writes are there, the failed ones left nothing, the size held.
  expect(statSync(image).size).toBe(64 * MiB);
  const file = readFileSync(image);
  expect(
    file.subarray(1 * MiB, 1 * MiB + 64 * 1024).equals(hostPattern(7, 1 * MiB, 64 * 1024)),
  ).toBe(true);
  expect(
    file.subarray(2 * MiB, 2 * MiB + 64 * 1024).equals(hostPattern(5, 2 * MiB, 64 * 1024)),
  ).toBe(true);
  expect(file.subarray(40 * MiB, 40 * MiB + 64 * 1024).every((b) => b === 0)).toBe(true);
  expect(file.subarray(48 * MiB, 48 * MiB + 4096).every((b) => b === 0)).toBe(true);
});
