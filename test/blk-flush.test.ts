// Flush durability: a child process runs `pvkit run` with a guest that
// writes a pattern and flushes; the moment the guest reports the flush
// complete, the test SIGKILLs the child (no shutdown, no close, no chance to
// write anything later) and checks the file holds every byte.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { hostPattern, useScratchDir, within } from './support/blk-harness.ts';

const dir = useScratchDir();
const root = join(import.meta.dirname, '..');

test('data the guest flushed is in the file when the VMM is killed right after', async () => {
  const image = join(dir.path, 'durable.img');
  const config = join(dir.path, 'flush.json');
  writeFileSync(
    config,
    JSON.stringify({
      name: 'flusher',
      memory: '16M',
      disks: [{ path: 'durable.img', size: '8M', create: true }],
      apps: ['blkverify vda seed=21 size=4M offset=1M bs=128k'],
    }),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'packages/vmm/src/cli/main.ts'), 'run', config],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.once('exit', (code, signal) => r(signal ?? code)),
  );
  try {
    await within(
      new Promise<void>((resolve) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('wrote and flushed')) {
            child.kill('SIGKILL');
            resolve();
          }
        });
      }),
      40_000,
      `waiting for the guest's flush (stdout: ${out}, stderr: ${err})`,
    );
  } finally {
    child.kill('SIGKILL');
  }
  expect(await within(exited, 10_000, 'child exit')).toBe('SIGKILL');
  const file = readFileSync(image);
  expect(file.length).toBe(8 << 20);
  expect(file.subarray(1 << 20, 5 << 20).equals(hostPattern(21, 1 << 20, 4 << 20))).toBe(true);
});
