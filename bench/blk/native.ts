// The host-native side of `pnpm bench blk`: plain Node fs on the same file,
// with the same pattern and block size as the guest's blkbench.
//
// Queue depth on the native side. Node's fs calls are synchronous or go
// through libuv's threadpool, so concurrency can be had two ways:
//   threads     T worker threads, each doing readSync/writeSync on its own
//               Buffer (T requests in flight);
//   threadpool  one thread keeping qd callback fs.read/fs.write requests in
//               flight, libuv's pool (UV_THREADPOOL_SIZE = T, in a child
//               process) doing the I/O.
// Measured here (README.md beside this file, native-modes.ts reproduces it),
// synchronous threads beat the threadpool in every case, and threads beyond
// the CPU count only add contention: 32 writer threads are 4x slower than 2
// (buffered writes serialise on the inode lock). The floor is therefore
// `threads` with T = min(qd, CPUs): the fastest the host does the same
// work, so the ratio to it is never flattered by a slow floor.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type BlkCaseSpec, blkCase, blkFigure } from './cases.ts';

export type NativeBlkMode = 'threads' | 'threadpool';

/** The mode the floor uses unless told otherwise (see the measurements in README.md). */
export const NATIVE_BLK_MODE: NativeBlkMode = 'threads';

/** I/O threads of the default floor: as many as the case has requests, at most one per CPU. */
export function nativeBlkThreads(qd: number): number {
  return Math.max(1, Math.min(qd, availableParallelism()));
}

export interface NativeBlkOptions {
  /** The bench file (createBenchFile), shared with the guest side. */
  path: string;
  fileBytes: number;
  durationMs: number;
  mode?: NativeBlkMode;
  /**
   * Threads doing I/O: worker threads in "threads" mode (default
   * nativeBlkThreads(qd)), UV_THREADPOOL_SIZE in "threadpool" mode (default qd).
   */
  ioThreads?: number;
}

/** What the floor is, for the `nativeName` column. */
export function nativeBlkName(caseId: string): string {
  const c = blkCase(caseId);
  const call = c.rw === 'read' ? 'readSync' : 'writeSync';
  const t = nativeBlkThreads(c.qd);
  return `Node fs.${call} into Buffers, ${t} thread${t > 1 ? 's' : ''} (min(qd ${c.qd}, cpus))`;
}

interface Measured {
  ops: number;
  bytes: number;
  seconds: number;
}

/** Run one case once on the host; value in the case's unit. */
export async function runNativeBlk(
  caseId: string,
  opts: NativeBlkOptions,
): Promise<{ value: number; unit: string }> {
  const spec = blkCase(caseId);
  if (opts.fileBytes % spec.bs !== 0) {
    throw new Error(
      `bench file of ${opts.fileBytes} bytes is not a whole number of ${spec.bs}-byte blocks`,
    );
  }
  const m =
    (opts.mode ?? NATIVE_BLK_MODE) === 'threads'
      ? await runThreads(spec, opts)
      : await runThreadpool(spec, opts);
  if (m.ops === 0)
    throw new Error(`native ${caseId}: no request completed in ${opts.durationMs} ms`);
  return { value: blkFigure(spec, m.bytes, m.ops, m.seconds), unit: spec.unit };
}

async function runThreads(spec: BlkCaseSpec, opts: NativeBlkOptions): Promise<Measured> {
  const ctl = new SharedArrayBuffer(16);
  const state = new Int32Array(ctl);
  const workers: Worker[] = [];
  try {
    const threads = opts.ioThreads ?? nativeBlkThreads(spec.qd);
    const done = Array.from({ length: threads }, (_, seed) => {
      const w = new Worker(new URL('./native-worker.mjs', import.meta.url), {
        workerData: {
          path: opts.path,
          write: spec.rw === 'write',
          seq: spec.pattern === 'seq',
          bs: spec.bs,
          blocks: opts.fileBytes / spec.bs,
          seed: seed + 1,
          ctl,
        },
      });
      workers.push(w);
      return new Promise<{ ops: number; bytes: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) =>
          reject(new Error(`native blk worker exited (${code}) before reporting`)),
        );
      });
    });
    // Start the clock only when every thread has its file open and is waiting.
    const readyBy = Date.now() + 30_000;
    while (Atomics.load(state, 1) < threads) {
      if (Date.now() > readyBy) throw new Error('native blk workers did not start within 30 s');
      await sleep(5);
    }
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
    const t0 = performance.now();
    await sleep(opts.durationMs);
    Atomics.store(state, 0, 2);
    const seconds = (performance.now() - t0) / 1000;
    const results = await Promise.all(done);
    return {
      ops: results.reduce((a, r) => a + r.ops, 0),
      bytes: results.reduce((a, r) => a + r.bytes, 0),
      seconds,
    };
  } finally {
    Atomics.store(state, 0, 2);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function runThreadpool(spec: BlkCaseSpec, opts: NativeBlkOptions): Promise<Measured> {
  const args = JSON.stringify({
    path: opts.path,
    write: spec.rw === 'write',
    seq: spec.pattern === 'seq',
    bs: spec.bs,
    blocks: opts.fileBytes / spec.bs,
    qd: spec.qd,
    durationMs: opts.durationMs,
  });
  const file = new URL('./native-async.mjs', import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file.pathname, args], {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(opts.ioThreads ?? spec.qd) },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.durationMs + 30_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`native-async.mjs failed (${code}): ${err.trim()}`));
      else resolve(JSON.parse(out) as Measured);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
