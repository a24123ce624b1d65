// Flush durability: a child process runs `pvkit run` with a guest that
// writes a pattern and flushes; the moment the guest reports the flush
// complete, the test SIGKILLs the child (no shutdown, no close, no chance to
// write anything later) and checks the file holds every byte. Repeated:
// PVKIT_FLUSH_CYCLES cycles (20 by default), each with its own image, seed
// and range, so no cycle can pass on a previous cycle's bytes.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { hostPattern, useScratchDir, within } from './support/blk-harness.ts';

const dir = useScratchDir();
const root = join(import.meta.dirname, '..');
const CYCLES = Number(process.env.PVKIT_FLUSH_CYCLES ?? 20);
const MiB = 1 << 20;
const DISK = 4 * MiB;

/** One cycle: write `size` bytes at `offset` under `seed`, flush, SIGKILL on the ack; return the image. */
async function flushThenKill(cycle: number, seed: number, offset: number, size: number) {
  const image = `durable-${cycle}.img`;
  const config = join(dir.path, `flush-${cycle}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      name: `flusher-${cycle}`,
      memory: '8M',
      disks: [{ path: image, size: '4M', create: true }],
      apps: [`blkverify vda seed=${seed} size=${size} offset=${offset} bs=64k`],
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
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('wrote and flushed')) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        // A VMM that dies before the ack fails the cycle now, with its last words
        // ('close' comes after the pipes drained, so an ack it printed is seen first).
        child.once('close', (code, signal) =>
          reject(
            new Error(
              `cycle ${cycle}: pvkit run ended (${signal ?? code}) before the flush ack (stdout: ${out}, stderr: ${err})`,
            ),
          ),
        );
      }),
      40_000,
      // Read at the timeout: the output up to then, not the empty strings of now.
      () => `cycle ${cycle}: waiting for the guest's flush (stdout: ${out}, stderr: ${err})`,
    );
  } finally {
    child.kill('SIGKILL');
  }
  expect(await within(exited, 10_000, `cycle ${cycle}: child exit`)).toBe('SIGKILL');
  return readFileSync(join(dir.path, image));
}

test(
  `data the guest flushed is in the file when the VMM is killed right after (${CYCLES} cycles)`,
  async () => {
    for (let c = 0; c < CYCLES; c++) {
      const seed = 21 + c;
      const offset = (c % 3) * MiB + (c % 7) * 4096;
      const size = MiB + (c % 4) * 64 * 1024;
      const file = await flushThenKill(c, seed, offset, size);
      expect(file.length).toBe(DISK);
      const acked = file.subarray(offset, offset + size);
      expect(acked.equals(hostPattern(seed, offset, size)), `cycle ${c}: acked bytes`).toBe(true);
      // Nothing outside the acknowledged range: a fresh image is zeros there.
      expect(
        file.subarray(0, offset).every((b) => b === 0),
        `cycle ${c}: before`,
      ).toBe(true);
      expect(
        file.subarray(offset + size).every((b) => b === 0),
        `cycle ${c}: after`,
      ).toBe(true);
    }
  },
  CYCLES * 50_000,
);
