// Two real worker threads move a million chains through one queue in
// shared memory, each carrying data the other side checksums: both sides
// polling, and both sides sleeping on spin-then-wait doorbells with
// EVENT_IDX (and indirect tables). Every wait is bounded; a stuck side
// fails the test.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import { Doorbell, GuestMemory, layoutSplitQueue } from '../src/index.ts';
import { CTL_WORDS, REQ, RESP, type SideConfig, type SideResult } from './support/ring-protocol.ts';

const CHAINS = 1_000_000;
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function side(config: SideConfig): Promise<SideResult> {
  const w = new Worker(new URL('../../../test/support/ts-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('./support/ring-worker.ts', import.meta.url).href, config },
  });
  workers.push(w);
  return new Promise((resolve, reject) => {
    w.once('message', (m: { ok: true; result: SideResult } | { ok: false; error: string }) =>
      m.ok ? resolve(m.result) : reject(new Error(`${config.role}: ${m.error}`)),
    );
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`${config.role} exited with ${code}`)));
  });
}

async function moveChains(
  mode: 'poll' | 'sleep',
  indirect: boolean,
  memory: 'sab' | 'wasm' = 'sab',
) {
  const size = 256;
  const queue = layoutSplitQueue(0, size, 128);
  const indirectAddr = Math.ceil(queue.end / 4096) * 4096;
  const slots = indirect ? size : size / 2;
  const dataBase = indirectAddr + size * 2 * 16;
  const bytes = dataBase + slots * (REQ + RESP);
  // Each worker gets the memory once; a WebAssembly.Memory is posted as itself.
  const mem = GuestMemory.allocate(bytes, memory === 'wasm' ? 'auto' : 'sab').shareable;
  const ctl = Doorbell.createWords(3).buffer as SharedArrayBuffer;
  expect(ctl.byteLength).toBeGreaterThanOrEqual(CTL_WORDS * 4);
  const base = {
    mode,
    count: CHAINS,
    mem,
    ctl,
    queue,
    indirect: indirect ? { addr: indirectAddr, maxEntries: 2 } : null,
    dataBase,
    slots,
    deadlineMs: 18_000,
  };
  const [driver, device] = await Promise.all([
    side({ ...base, role: 'driver' }),
    side({ ...base, role: 'device' }),
  ]);
  const seqSum = (CHAINS * (CHAINS - 1)) / 2;
  expect(driver.chains).toBe(CHAINS);
  expect(device.chains).toBe(CHAINS);
  expect(driver.seqSum).toBe(seqSum);
  expect(device.seqSum).toBe(seqSum);
  return { driver, device };
}

describe('two workers, one queue, a million checksummed chains', () => {
  test('poll mode: both sides spin', { timeout: 25_000 }, async () => {
    const { driver, device } = await moveChains('poll', false);
    expect(driver.sleeps + device.sleeps).toBe(0);
  });

  test('sleep mode: EVENT_IDX, indirect tables, spin-then-wait doorbells', {
    timeout: 25_000,
  }, async () => {
    const { driver, device } = await moveChains('sleep', true);
    // Notifications are suppressed while the other side is busy: far
    // fewer than one per chain.
    expect(driver.notifications).toBeLessThan(CHAINS / 4);
    expect(device.notifications).toBeLessThan(CHAINS / 4);
  });

  // The ring indexes through WebAssembly's atomics (ring-index.ts): the same
  // million chains, the same checks, in both modes.
  test('poll mode, guest memory a shared WebAssembly.Memory', { timeout: 25_000 }, async () => {
    const { driver, device } = await moveChains('poll', false, 'wasm');
    expect(driver.sleeps + device.sleeps).toBe(0);
  });

  test('sleep mode, guest memory a shared WebAssembly.Memory', { timeout: 25_000 }, async () => {
    const { driver, device } = await moveChains('sleep', true, 'wasm');
    expect(driver.notifications).toBeLessThan(CHAINS / 4);
    expect(device.notifications).toBeLessThan(CHAINS / 4);
  });
});
