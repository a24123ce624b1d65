// The trap: the guest stub against a real service thread, in each of the
// three ways an answer can reach a vCPU (both spinning, the vCPU asleep,
// the service asleep on its doorbell), and the u64/i64 argument encoding.
import { Worker } from 'node:worker_threads';
import { afterEach, expect, test } from 'vitest';
import {
  createHypercall,
  createMailbox,
  createServiceDoorbell,
  MAILBOX,
  readI64,
  readU64,
  writeI64,
} from '../src/index.ts';

let worker: Worker | null = null;
afterEach(async () => {
  await worker?.terminate();
  worker = null;
});

function service(count: number, mode: 'spin' | 'slow' | 'doorbell') {
  const mailbox = createMailbox();
  const doorbell = createServiceDoorbell();
  worker = new Worker(new URL('../../../test/support/ts-worker.mjs', import.meta.url), {
    workerData: {
      entry: new URL('./mailbox-service.ts', import.meta.url).href,
      mailbox,
      doorbell,
      count,
      mode,
    },
  });
  return {
    hc: createHypercall(mailbox, doorbell, { timeoutMs: 10_000 }),
    m: new Int32Array(mailbox),
  };
}

/** Wait for the service thread to be up: a first trap answered. */
function first(hc: ReturnType<typeof createHypercall>) {
  expect(hc(2, 7)).toBe(7);
}

test('spinning: results, errno, and args up to 2^53 survive the trip', () => {
  const { hc } = service(6, 'spin');
  first(hc);
  expect(hc(1, 1, 2, 3, 4, 5, 6)).toBe(21);
  expect(hc(2, 2 ** 32 + 5)).toBe(2 ** 32 + 5);
  expect(hc(2, 2 ** 53 - 1)).toBe(2 ** 53 - 1);
  expect(hc(2, -22)).toBe(-22); // i64 two's complement both ways
  expect(hc(99)).toBe(-38);
});

test('a vCPU that fell asleep is woken by the answer', () => {
  const { hc, m } = service(3, 'slow');
  first(hc);
  expect(hc(1, 10, 20)).toBe(30);
  expect(hc(2, 5)).toBe(5);
  expect(Atomics.load(m, MAILBOX.guest_sleeping)).toBe(0);
});

test('a service asleep on its doorbell is rung by the trap', () => {
  const { hc } = service(3, 'doorbell');
  for (let i = 0; i < 3; i++) expect(hc(2, 100 + i)).toBe(100 + i);
});

test('a trap nobody answers fails after the timeout instead of hanging', () => {
  const hc = createHypercall(createMailbox(), createServiceDoorbell(), { spin: 10, timeoutMs: 50 });
  expect(() => hc(17)).toThrow(/no answer from the hypervisor in 50 ms/);
});

test('u64 and i64 fields as two words', () => {
  const w = new Int32Array(4);
  writeI64(w, 0, 2 ** 40 + 3);
  expect(readU64(w, 0)).toBe(2 ** 40 + 3);
  writeI64(w, 2, -5);
  expect(readI64(w, 2)).toBe(-5);
  expect(readU64(w, 2)).toBe(2 ** 64 - 5);
});
