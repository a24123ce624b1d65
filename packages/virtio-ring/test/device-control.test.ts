// The device control block: what the toolstack describes, the model
// publishes and a backend snapshots, with every field at its word; the
// seqlock, acks, needs-reset bits and per-queue counters.
import { describe, expect, test } from 'vitest';
import {
  DEVICE_CONTROL,
  DEVICE_STATE,
  DeviceControl,
  DeviceCounters,
  HaltPoll,
  MAX_CONTROL_QUEUES,
  QUEUE_CONTROL,
  QUEUE_CONTROL_STRIDE,
  QUEUE_COUNTER,
  QUEUE_COUNTER_SLOTS,
  RING_FEATURES,
} from '../src/index.ts';

describe('DeviceControl', () => {
  test('describe() round-trips through the buffer another thread would get', () => {
    const c = DeviceControl.create(3);
    const config = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    c.describe({
      deviceId: 2,
      features: RING_FEATURES | 0b110n,
      queueMaxSizes: [256, 128, 64],
      config,
    });
    const other = new DeviceControl(c.buffer);
    expect(other.nrQueues).toBe(3);
    const d = other.description();
    expect(d).toEqual({
      deviceId: 2,
      features: RING_FEATURES | 0b110n,
      queueMaxSizes: [256, 128, 64],
      config,
    });
    expect(d.config.buffer).not.toBe(c.buffer); // a copy, not a view of shared memory
  });

  test('publish() writes each queue at its words; a snapshot reads them back', () => {
    const c = DeviceControl.create(2);
    const g0 = c.generation;
    const q = { index: 1, ready: true, size: 64, desc: 2 ** 33 + 16, avail: 0x5000, used: 0x6000 };
    const g = c.publish(DEVICE_STATE.running, (1n << 32n) | 5n, [q]);
    expect(g).toBe(g0 + 2);
    expect(g % 2).toBe(0);
    const w = new Int32Array(c.buffer);
    const base = DEVICE_CONTROL.queues + QUEUE_CONTROL_STRIDE;
    expect(w[base + QUEUE_CONTROL.size]).toBe(64);
    expect(w[base + QUEUE_CONTROL.desc_lo]).toBe(16);
    expect(w[base + QUEUE_CONTROL.desc_hi]).toBe(2);
    const s = new DeviceControl(c.buffer).snapshot();
    expect(s).toEqual({
      generation: g,
      state: DEVICE_STATE.running,
      features: (1n << 32n) | 5n,
      queues: [{ index: 0, ready: false, size: 0, desc: 0, avail: 0, used: 0 }, q],
      needsReset: false,
    });
  });

  test('a dead backend: backend_down bits, needs-reset in the snapshot until a reset, stop cleared for a restart', () => {
    const c = DeviceControl.create(2);
    c.publish(DEVICE_STATE.running, 0n, []);
    c.setBackendDown(1);
    expect(c.backendDown).toBe(0b10);
    // A backend that starts now must not serve the queues of before the break.
    expect(c.snapshot().needsReset).toBe(true);
    c.publish(DEVICE_STATE.reset, 0n, []);
    expect(c.snapshot().needsReset).toBe(false);
    expect(c.backendDown).toBe(0b10); // only a restart clears it, not the driver's reset
    c.requestStop();
    c.clearStop();
    c.clearBackendDown();
    expect(c.stopRequested).toBe(false);
    expect(c.backendDown).toBe(0);
  });

  test('an unknown state word reads as reset (the block is shared memory)', () => {
    const c = DeviceControl.create(1);
    new Int32Array(c.buffer)[DEVICE_CONTROL.state] = 77;
    expect(c.snapshot().state).toBe(DEVICE_STATE.reset);
  });

  test('acks, needs-reset bits (cleared by a reset) and stop', () => {
    const c = DeviceControl.create(2);
    const g = c.publish(DEVICE_STATE.running, 0n, []);
    expect(c.applied([0, 1])).toBe(false);
    c.ack(0, g);
    c.ack(1, g);
    expect(c.applied([0, 1])).toBe(true);
    c.setNeedsReset(1);
    expect(c.needsReset).toBe(true);
    c.publish(DEVICE_STATE.failed, 0n, []);
    expect(c.needsReset).toBe(true); // FAILED is not a reset
    c.publish(DEVICE_STATE.reset, 0n, []);
    expect(c.needsReset).toBe(false);
    expect(c.stopRequested).toBe(false);
    c.requestStop();
    expect(new DeviceControl(c.buffer).stopRequested).toBe(true);
  });

  test('limits: queue count, config size, a buffer that is not a control block', () => {
    expect(() => DeviceControl.create(0)).toThrow(RangeError);
    expect(() => DeviceControl.create(MAX_CONTROL_QUEUES + 1)).toThrow(RangeError);
    const c = DeviceControl.create(1);
    expect(() =>
      c.describe({ deviceId: 1, features: 0n, queueMaxSizes: [8, 8], config: new Uint8Array(0) }),
    ).toThrow(/2 queue sizes for 1 queues/);
    expect(() =>
      c.describe({ deviceId: 1, features: 0n, queueMaxSizes: [8], config: new Uint8Array(4096) }),
    ).toThrow(RangeError);
    expect(() => new DeviceControl(new SharedArrayBuffer(64))).toThrow(TypeError);
    const garbage = new SharedArrayBuffer(c.buffer.byteLength);
    new Int32Array(garbage)[DEVICE_CONTROL.nr_queues] = 1000;
    expect(() => new DeviceControl(garbage)).toThrow(RangeError);
  });
});

describe('DeviceCounters', () => {
  test("per-queue sections: generic slots, then the device's own; totals sum them", () => {
    const c = DeviceCounters.create(2, 3);
    const f = new DeviceCounters(c.buffer).f64; // the backend's view
    f[c.queueBase(0) + QUEUE_COUNTER.chains] = 5;
    f[c.queueBase(1) + QUEUE_COUNTER.chains] = 7;
    f[c.deviceBase(1) + 2] = 9;
    expect(c.deviceBase(0)).toBe(c.queueBase(0) + QUEUE_COUNTER_SLOTS);
    expect(c.queueBase(1)).toBe(c.queueBase(0) + QUEUE_COUNTER_SLOTS + 3);
    expect(c.queueTotal(QUEUE_COUNTER.chains)).toBe(12);
    expect(c.queueTotal(QUEUE_COUNTER.chains, 1)).toBe(7);
    expect(c.deviceTotal(2)).toBe(9);
    expect(c.totals()).toMatchObject({ chains: 12, kicks: 0, interrupts: 0 });
    expect(() => new DeviceCounters(new SharedArrayBuffer(8))).toThrow(RangeError);
  });
});

describe('HaltPoll', () => {
  test('grows while sleeps are short, shrinks to 0 when they are long', () => {
    const p = new HaltPoll({ maxUs: 100, startUs: 10 });
    expect(p.windowUs).toBe(10);
    p.slept(30); // a longer poll would have caught it
    expect(p.windowUs).toBe(20);
    p.slept(30);
    p.slept(30);
    p.slept(30);
    expect(p.windowUs).toBe(100); // capped
    for (let i = 0; i < 6; i++) p.slept(5000); // the other side is away: stop wasting CPU
    expect(p.windowUs).toBe(0);
    p.slept(50);
    expect(p.windowUs).toBe(10); // starts again from startUs
  });

  test('poll() returns true as soon as ready; a peer that stops moving cuts it short', () => {
    const p = new HaltPoll({ maxUs: 1_000_000, initialUs: 1_000_000 });
    let n = 0;
    expect(p.poll(() => ++n === 10)).toBe(true); // before its first look at the clock
    expect(n).toBe(10);
    // The other side's progress counter never moves: stop polling, shrink.
    expect(
      p.poll(
        () => false,
        () => 7,
      ),
    ).toBe(false);
    expect(p.stalled + p.preempted).toBe(1);
    expect(p.windowUs).toBe(500_000);
    // A cut-short poll's sleep says nothing about polling longer: no growth.
    p.slept(10);
    expect(p.windowUs).toBe(500_000);
    expect(new HaltPoll({ maxUs: 0 }).poll(() => true)).toBe(false); // polling off
  });
});
