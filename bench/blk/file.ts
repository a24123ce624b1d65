// The file both sides of `pnpm bench blk` run on: created sparse in the OS
// temp directory, then filled once with non-zero data (reads must hit real
// blocks, not holes) and synced (so writeback of the fill does not run under
// the first measurement). Its pages stay in the page cache: runs are warm.
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchFile {
  path: string;
  bytes: number;
  /** Delete the file and its directory (also done at process exit). */
  remove(): void;
}

const FILL_CHUNK = 1024 * 1024;

export function createBenchFile(bytes: number): BenchFile {
  if (bytes % FILL_CHUNK !== 0)
    throw new Error(`bench file size ${bytes} is not a multiple of 1 MiB`);
  const dir = mkdtempSync(join(tmpdir(), 'pvkit-bench-blk-'));
  const path = join(dir, 'disk.img');
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', remove);
  };
  process.on('exit', remove);
  try {
    const fd = openSync(path, 'w+');
    try {
      ftruncateSync(fd, bytes);
      const chunk = randomFillSync(Buffer.allocUnsafe(FILL_CHUNK));
      for (let off = 0; off < bytes; off += FILL_CHUNK) {
        chunk.writeUInt32LE(off / FILL_CHUNK, 0); // every MiB differs
        writeSync(fd, chunk, 0, FILL_CHUNK, off);
      }
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { path, bytes, remove };
}
