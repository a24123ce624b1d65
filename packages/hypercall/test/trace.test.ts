import { expect, test } from 'vitest';
import { TRACE_KIND, TraceRing } from '../src/index.ts';

const rec = (i: number) => ({
  timeNs: i * 1000,
  domid: 1,
  vcpu: 0,
  nr: 17,
  arg0: i,
  result: -22,
  durationNs: 123.4,
});

test('records come out in order, once', () => {
  const ring = TraceRing.create(8);
  for (let i = 0; i < 5; i++) expect(ring.push(rec(i))).toBe(true);
  const out = ring.drain();
  expect(out.map((r) => r.arg0)).toEqual([0, 1, 2, 3, 4]);
  expect(out[0]).toEqual({
    ...rec(0),
    durationNs: 123,
    kind: TRACE_KIND.trap,
    args: [0, 0, 0, 0, 0, 0],
  });
  expect(ring.drain()).toEqual([]);
});

test('a full ring drops new records and counts them; nothing unread is overwritten', () => {
  const ring = TraceRing.create(4);
  for (let i = 0; i < 6; i++) ring.push(rec(i));
  expect(ring.dropped).toBe(2);
  expect(ring.drain().map((r) => r.arg0)).toEqual([0, 1, 2, 3]);
  for (let i = 10; i < 13; i++) ring.push(rec(i)); // wraps around
  expect(ring.drain().map((r) => r.arg0)).toEqual([10, 11, 12]);
});

test('results and durations are clamped to their fields', () => {
  const ring = TraceRing.create(2);
  ring.push({ ...rec(0), result: 2 ** 40, durationNs: 2 ** 40 });
  const [r] = ring.drain();
  expect(r.result).toBe(0x7fffffff);
  expect(r.durationNs).toBe(0xffffffff);
});

test('capacity must be a power of two', () => {
  expect(() => TraceRing.create(3)).toThrow(/power of two/);
});

test('a record carries its kind and every argument as a float64', () => {
  const ring = TraceRing.create(2);
  ring.push({ ...rec(0), kind: TRACE_KIND.entry, args: [2 ** 40 + 3, -1, 0.5] });
  const [r] = ring.drain();
  expect(r.kind).toBe(TRACE_KIND.entry);
  expect(r.args).toEqual([2 ** 40 + 3, -1, 0.5, 0, 0, 0]);
});
