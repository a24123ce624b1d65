// Move `count` buffers from a driver worker to a device worker through one
// split virtqueue in a SharedArrayBuffer, and back. Run it with
// `node --import tsx src/main.ts [count]`, or import runRingConsumer().
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Doorbell, layoutSplitQueue } from '@pvkit/virtio-ring';
import { BUFFERS_BASE, type SideData, slotBytes } from './layout.ts';

export interface RingConsumerResult {
  moved: number;
  /** Replies whose checksum or length was wrong (0 when all is well). */
  wrong: number;
  served: number;
  malformed: number;
  kicks: number;
  interrupts: number;
  seconds: number;
}

export interface RingConsumerOptions {
  count?: number;
  ringSize?: number;
  bufSize?: number;
  /** Give up (and stop both workers) after this long. */
  timeoutMs?: number;
}

function start(file: string, data: SideData): Worker {
  // The workers are TypeScript too: ts-worker.mjs registers tsx, then imports `entry`.
  return new Worker(new URL('./ts-worker.mjs', import.meta.url), {
    workerData: { ...data, entry: new URL(file, import.meta.url).href },
    execArgv: [],
  });
}

function result<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
}

export async function runRingConsumer(opts: RingConsumerOptions = {}): Promise<RingConsumerResult> {
  const { count = 10_000, ringSize = 256, bufSize = 1024, timeoutMs = 30_000 } = opts;
  const queue = layoutSplitQueue(0, ringSize, 4096);
  if (queue.end > BUFFERS_BASE)
    throw new RangeError(`a ring of ${ringSize} does not fit below the buffers`);
  const data: SideData = {
    memory: new SharedArrayBuffer(BUFFERS_BASE + (ringSize / 2) * slotBytes(bufSize)),
    queue,
    bells: Doorbell.createWords(2),
    count,
    slots: ringSize / 2, // a chain takes two descriptors: request, reply
    bufSize,
  };
  const workers = [start('./device.ts', data), start('./driver.ts', data)];
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after ${timeoutMs} ms`)), timeoutMs);
    });
    const [device, driver] = await Promise.race([
      Promise.all([
        result<{ served: number; malformed: number; interrupts: number }>(workers[0]),
        result<{ moved: number; wrong: number; kicks: number; seconds: number }>(workers[1]),
      ]),
      late,
    ]);
    return { ...driver, ...device };
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runRingConsumer({ count: Number(process.argv[2] ?? 100_000) });
  console.log(
    `moved ${r.moved} buffers in ${r.seconds.toFixed(2)} s (${(r.moved / r.seconds / 1e6).toFixed(2)} M/s), ` +
      `${r.wrong} wrong, ${r.kicks} kicks, ${r.interrupts} interrupts`,
  );
}
