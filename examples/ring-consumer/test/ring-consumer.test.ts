// The example runs as its README says: two real workers move every buffer
// through the ring, each answer checked, with fewer notifications than
// buffers (EVENT_IDX at work).
import { expect, test } from 'vitest';
import { runRingConsumer } from '../src/main.ts';

test('a driver and a device in two workers move every buffer and agree on each', async () => {
  const r = await runRingConsumer({ count: 20_000, ringSize: 64, bufSize: 512, timeoutMs: 30_000 });
  expect(r.moved).toBe(20_000);
  expect(r.served).toBe(20_000);
  expect(r.wrong).toBe(0);
  expect(r.malformed).toBe(0);
  expect(r.kicks).toBeLessThanOrEqual(20_000);
  expect(r.interrupts).toBeLessThanOrEqual(20_000);
});

test('a ring too big for the layout is refused before any worker starts', async () => {
  await expect(runRingConsumer({ ringSize: 4096 })).rejects.toThrow(
    /does not fit below the buffers/,
  );
});
