// Which way of getting queue depth on the native side is fastest here?
// `node --import tsx bench/blk/native-modes.ts [--quick] [--runs N]`
// Runs every blk case with sync threads (1, min(qd, cpus), qd) and with the
// libuv threadpool (qd in flight, pool of 2 and of qd), interleaved round by
// round on one bench file, and prints the medians (stderr). The fastest is
// what runNativeBlk uses by default (native.ts).
import { pathToFileURL } from 'node:url';
import { median } from '../lib/stats.ts';
import { BLK_CASES, blkBenchSizes } from './cases.ts';
import { createBenchFile } from './file.ts';
import { type NativeBlkMode, nativeBlkThreads, runNativeBlk } from './native.ts';

async function main(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : quick ? 1 : 3;
  const { fileBytes, durationMs } = blkBenchSizes(quick);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`native blk modes: ${fileBytes >> 20} MiB file, ${durationMs} ms per run, ${runs} run(s)`);
  const file = createBenchFile(fileBytes);
  try {
    for (const c of BLK_CASES) {
      const configs: [string, NativeBlkMode, number][] = [
        ['threads=1', 'threads', 1],
        [`threads=${nativeBlkThreads(c.qd)} (default)`, 'threads', nativeBlkThreads(c.qd)],
        [`threads=${c.qd}`, 'threads', c.qd],
        ['pool=2', 'threadpool', 2],
        [`pool=${c.qd}`, 'threadpool', c.qd],
      ];
      const samples = configs.map((): number[] => []);
      for (let r = 0; r < runs; r++) {
        for (const [i, [, mode, ioThreads]] of configs.entries()) {
          const opts = { path: file.path, fileBytes, durationMs, mode, ioThreads };
          samples[i].push((await runNativeBlk(c.id, opts)).value);
        }
      }
      const cells = configs.map(([name], i) => `${name} ${median(samples[i]).toFixed(0)}`);
      log(`${c.id} (${c.unit}): ${cells.join(', ')}`);
    }
  } finally {
    file.remove();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
