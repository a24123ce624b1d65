// Doorbells: no lost wake-up between a side that rings and one that spins
// then sleeps, and no Atomics.notify unless someone may be asleep.
import { Worker } from 'node:worker_threads';
import { afterEach, expect, test } from 'vitest';
import { DOORBELL_STRIDE, Doorbell } from '../src/index.ts';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

test('a ring before the wait is not lost; an unrung wait times out', () => {
  const bell = Doorbell.create();
  const other = new Doorbell(bell.words);
  other.ring();
  expect(bell.wait(0, 1000)).toBe(true); // consumed at once, no sleep
  const t0 = Date.now();
  expect(bell.wait(10, 30)).toBe(false);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  expect(Atomics.load(bell.words, 1)).toBe(0); // no sleeper left behind
  expect(bell.poll()).toBe(false);
  other.ring();
  expect(bell.poll()).toBe(true);
  expect(() => new Doorbell(new Int32Array(new SharedArrayBuffer(4)))).toThrow(RangeError);
  expect(() => new Doorbell(new Int32Array(8))).toThrow(TypeError);
});

test.each([
  [0, 2_000],
  [50, 20_000],
])(
  'ping-pong across threads, spin %i then sleep: every wake-up arrives',
  { timeout: 20_000 },
  async (spin, rounds) => {
    const words = Doorbell.createWords(2);
    const ping = new Doorbell(words, 0);
    const pong = new Doorbell(words, DOORBELL_STRIDE);
    const w = new Worker(new URL('../../../test/support/ts-worker.mjs', import.meta.url), {
      workerData: {
        entry: new URL('./support/bell-worker.ts', import.meta.url).href,
        words,
        rounds,
        spin,
      },
    });
    workers.push(w);
    const inbox: unknown[] = [];
    const waiting: ((m: unknown) => void)[] = [];
    w.on('message', (m) => (waiting.length ? waiting.shift()!(m) : inbox.push(m)));
    const failed = new Promise<never>((_, reject) => w.once('error', reject));
    const next = () =>
      Promise.race([
        new Promise<unknown>((resolve) =>
          inbox.length ? resolve(inbox.shift()) : waiting.push(resolve),
        ),
        failed,
      ]);
    // Worker startup (tsx) is not part of the 2 s budget of a wait.
    expect(await next()).toBe('ready');
    let missed = 0;
    for (let i = 0; i < rounds; i++) {
      ping.ring();
      if (!pong.wait(spin, 2000)) missed++;
    }
    expect(missed).toBe(0);
    expect(await next()).toEqual({ missed: 0 });
  },
);

test('a ring whose notify is lost is still seen within a slice, not after the timeout', async () => {
  // Node 20's Atomics.wait can sleep through a notify; simulate exactly
  // that: another thread bumps the ring count and never notifies.
  const bell = Doorbell.create();
  const w = new Worker(
    `const { workerData } = require('node:worker_threads');
     const words = workerData;
     Atomics.wait(words, 8, 0, 100); // let the main thread fall asleep first
     Atomics.add(words, 0, 1);`,
    { eval: true, workerData: bell.words },
  );
  workers.push(w);
  const t0 = performance.now();
  expect(bell.wait(0, 10_000)).toBe(true);
  const took = performance.now() - t0;
  expect(took).toBeGreaterThanOrEqual(50);
  expect(took).toBeLessThan(3_000); // slices grow to 50 ms; far below the 10 s timeout
});
