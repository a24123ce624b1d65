// raiseEvent / unmaskEvent on a real guest memory SharedArrayBuffer: the
// Xen 2-level rules, and a wake-up across threads.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, test } from 'vitest';
import {
  clearEvent,
  isEventPending,
  kickVcpu,
  maskEvent,
  maskWord,
  NR_EVENT_CHANNELS,
  PAGE_SIZE,
  pendingWord,
  RAISE,
  raiseEvent,
  unmaskEvent,
  VCPU_INFO,
  vcpuInfoWord,
} from '../src/index.ts';

function guest(): Int32Array {
  const g = new Int32Array(new SharedArrayBuffer(16 * PAGE_SIZE));
  for (let p = 0; p < NR_EVENT_CHANNELS; p += 32) g[maskWord(p)] = -1; // fresh ports masked
  return g;
}
const word = (g: Int32Array, f: number) => Atomics.load(g, vcpuInfoWord(0, f));

describe('raiseEvent (Xen evtchn_2l_set_pending)', () => {
  test('an unmasked port sets pending, the selector bit and upcall_pending, and kicks', () => {
    const g = guest();
    Atomics.and(g, maskWord(37), ~(1 << 5));
    expect(raiseEvent(g, 37)).toBe(RAISE.delivered);
    expect(isEventPending(g, 37)).toBe(true);
    expect(word(g, VCPU_INFO.evtchn_pending_sel)).toBe(1 << 1);
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(1);
    expect(word(g, VCPU_INFO.wake)).toBe(1);
  });

  test('events coalesce: raising a pending port again changes nothing', () => {
    const g = guest();
    Atomics.and(g, maskWord(3), ~(1 << 3));
    raiseEvent(g, 3);
    expect(raiseEvent(g, 3)).toBe(RAISE.already_pending);
    expect(word(g, VCPU_INFO.wake)).toBe(1);
  });

  test('a masked event is only pending, and arrives on unmask', () => {
    const g = guest();
    expect(raiseEvent(g, 100)).toBe(RAISE.masked);
    expect(isEventPending(g, 100)).toBe(true);
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(0);
    expect(word(g, VCPU_INFO.evtchn_pending_sel)).toBe(0);
    expect(unmaskEvent(g, 100)).toBe(true);
    expect(word(g, VCPU_INFO.evtchn_pending_sel)).toBe(1 << 3);
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(1);
    expect(word(g, VCPU_INFO.wake)).toBe(1);
    // unmasking a port that is not pending delivers nothing
    expect(unmaskEvent(g, 101)).toBe(false);
  });

  test('upcall_mask: pending and upcall_pending are set but the vCPU is not woken', () => {
    const g = guest();
    Atomics.store(g, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_mask), 1);
    Atomics.and(g, maskWord(7), ~(1 << 7));
    expect(raiseEvent(g, 7)).toBe(RAISE.delivered);
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(1);
    expect(word(g, VCPU_INFO.wake)).toBe(0);
  });

  test('a polling vCPU is woken even by a masked port', () => {
    const g = guest();
    Atomics.store(g, vcpuInfoWord(0, VCPU_INFO.polling), 1);
    expect(raiseEvent(g, 9)).toBe(RAISE.masked);
    expect(word(g, VCPU_INFO.wake)).toBe(1);
  });

  test('port 0, negative, fractional and out-of-range ports are refused, memory untouched', () => {
    const g = guest();
    const before = g.slice();
    for (const p of [0, -1, 1.5, NR_EVENT_CHANNELS, 2 ** 40, Number.NaN])
      expect(raiseEvent(g, p)).toBe(RAISE.bad_port);
    expect(unmaskEvent(g, 0)).toBe(false);
    expect(g).toEqual(before);
  });

  test('mask and clear are local bit operations', () => {
    const g = guest();
    Atomics.store(g, maskWord(40), 0);
    maskEvent(g, 40);
    expect(Atomics.load(g, maskWord(40)) & (1 << 8)).not.toBe(0);
    raiseEvent(g, 40);
    expect(clearEvent(g, 40)).toBe(true);
    expect(Atomics.load(g, pendingWord(40))).toBe(0);
  });
});

describe('raising from another thread', () => {
  let w: Worker | null = null;
  afterEach(async () => {
    await w?.terminate();
    w = null;
  });

  test('a backend thread that holds only guest memory wakes a vCPU sleeping on its wake word', async () => {
    const g = guest();
    Atomics.and(g, maskWord(12), ~(1 << 12));
    // The worker runs the real raiseEvent (through tsx).
    w = new Worker(new URL('../../../test/support/ts-worker.mjs', import.meta.url), {
      workerData: {
        entry: new URL('./raise-worker.ts', import.meta.url).href,
        mem: g.buffer,
        port: 12,
      },
    });
    const wake = vcpuInfoWord(0, VCPU_INFO.wake);
    // The main thread stands in for the vCPU: Atomics.wait with a finite timeout.
    const r = Atomics.wait(g, wake, 0, 10_000);
    expect(r).toBe('ok');
    expect(isEventPending(g, 12)).toBe(true);
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(1);
  });

  test('kickVcpu wakes a waiter without marking anything pending', () => {
    const g = guest();
    kickVcpu(g);
    expect(Atomics.wait(g, vcpuInfoWord(0, VCPU_INFO.wake), 0, 0)).toBe('not-equal');
    expect(word(g, VCPU_INFO.evtchn_upcall_pending)).toBe(0);
  });
});
