// One idle worker waiting on many doorbells at once (the switch's sleep):
// a kick from another thread on any of them wakes it, a kick between the
// snapshot and the arm is never lost, the doorbells' sleeper counts come
// back to 0, and the timeout wakes it too.
import { Worker } from 'node:worker_threads';
import { DOORBELL_STRIDE, Doorbell } from '@pvkit/virtio-ring';
import { afterEach, expect, test } from 'vitest';
import { MultiDoorbellWait } from '../src/net/doorbell-wait.ts';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

function bells(n: number) {
  const words = Doorbell.createWords(n);
  return {
    words,
    list: Array.from({ length: n }, (_, i) => new Doorbell(words, i * DOORBELL_STRIDE)),
  };
}

const sleepers = (words: Int32Array, n: number) =>
  Array.from({ length: n }, (_, i) => Atomics.load(words, i * DOORBELL_STRIDE + 1));

test('a kick from another thread on any of the doorbells wakes the waiter', async () => {
  const { words, list } = bells(3);
  const w = new Worker(new URL('../../../test/support/ts-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('./support/kick-worker.ts', import.meta.url).href, words },
  });
  workers.push(w);
  await within(new Promise((r) => w.once('message', r)), 10_000);
  for (const which of [2, 0, 1]) {
    let woke: () => void = () => {};
    const wake = new Promise<void>((r) => {
      woke = r;
    });
    const waiter = new MultiDoorbellWait(() => woke());
    waiter.snapshot(list);
    expect(waiter.arm(5000)).toBe(true);
    expect(sleepers(words, 3)).toEqual([1, 1, 1]);
    w.postMessage(which * DOORBELL_STRIDE);
    await within(wake, 2000);
    expect(waiter.sleeping).toBe(false);
    expect(waiter.timeouts).toBe(0);
    expect(sleepers(words, 3)).toEqual([0, 0, 0]);
  }
});

test('a kick between the snapshot and the arm is not lost: arm says look again', () => {
  const { words, list } = bells(2);
  const waiter = new MultiDoorbellWait(() => {
    throw new Error('must not sleep');
  });
  waiter.snapshot(list);
  list[1].ring();
  expect(waiter.arm(1000)).toBe(false);
  expect(waiter.sleeping).toBe(false);
  expect(sleepers(words, 2)).toEqual([0, 0]);
});

test('the timeout wakes it; wakeNow wakes it at once; stale waits are harmless', async () => {
  const { words, list } = bells(2);
  let wakes = 0;
  const waiter = new MultiDoorbellWait(() => wakes++);
  waiter.snapshot(list);
  expect(waiter.arm(20)).toBe(true);
  await within(
    (async () => {
      while (wakes === 0) await new Promise((r) => setTimeout(r, 5));
    })(),
    2000,
  );
  expect(waiter.timeouts).toBe(1);
  waiter.snapshot(list);
  expect(waiter.arm(5000)).toBe(true);
  waiter.wakeNow();
  expect(wakes).toBe(2);
  expect(sleepers(words, 2)).toEqual([0, 0]);
  // A ring after the wake reaches no sleeper and wakes nobody twice.
  list[0].ring();
  await new Promise((r) => setTimeout(r, 20));
  expect(wakes).toBe(2);
});
