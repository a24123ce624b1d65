import { macToKey } from '@pvkit/virtio-ring';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DROP, FLOOD, LearningSwitch, MacTable } from '../src/net/index.ts';

const mac = (last: number, first = 0x02) => new Uint8Array([first, 0, 0, 0, 0, last]);
const key = (last: number) => macToKey(mac(last));

function frame(dst: Uint8Array, src: Uint8Array, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst.subarray(0, Math.min(6, len)), 0);
  if (len >= 12) f.set(src, 6);
  return f;
}

const BCAST = new Uint8Array(6).fill(0xff);

describe('MAC table', () => {
  test('learns, looks up, ages out lazily and by sweep', () => {
    const t = new MacTable({ ageingMs: 1000 });
    t.learn(key(1), 3, 0);
    expect(t.lookup(key(1), 999)).toBe(3);
    expect(t.lookup(key(1), 1000)).toBe(-1);
    expect(t.size).toBe(0);
    t.learn(key(2), 1, 0);
    t.learn(key(3), 1, 500);
    expect(t.sweep(1200)).toBe(1);
    expect([t.lookup(key(2), 1200), t.lookup(key(3), 1200)]).toEqual([-1, 1]);
  });

  test('seeing a source again refreshes it; a move to another port is counted', () => {
    const t = new MacTable({ ageingMs: 1000 });
    t.learn(key(1), 1, 0);
    t.learn(key(1), 1, 900);
    expect(t.lookup(key(1), 1800)).toBe(1);
    t.learn(key(1), 2, 1800);
    expect(t.lookup(key(1), 1800)).toBe(2);
    expect([t.moves, t.countOn(1), t.countOn(2)]).toEqual([1, 0, 1]);
  });

  test('a hostile port churning random sources only evicts its own entries', () => {
    const t = new MacTable({ maxPerPort: 16, maxEntries: 64 });
    for (let i = 0; i < 10; i++) t.learn(key(i), 1, 0);
    fc.assert(
      fc.property(fc.array(fc.nat(2 ** 46), { maxLength: 500 }), (keys) => {
        for (const k of keys) t.learn(k * 4 + 1000, 2, 0);
        expect(t.countOn(2)).toBeLessThanOrEqual(16);
        for (let i = 0; i < 10; i++) expect(t.lookup(key(i), 1)).toBe(1);
      }),
    );
    expect(t.quotaEvictions).toBeGreaterThan(0);
  });

  test('when the whole table is full, new sources are refused, not evicting others', () => {
    const t = new MacTable({ maxPerPort: 4, maxEntries: 6 });
    for (let i = 0; i < 4; i++) t.learn(key(i), 1, 0);
    for (let i = 10; i < 14; i++) t.learn(key(i), 2, 0);
    expect(t.size).toBe(6);
    expect(t.refused).toBe(2);
    for (let i = 0; i < 4; i++) expect(t.lookup(key(i), 0)).toBe(1);
    t.flushPort(1);
    expect(t.size).toBe(2);
    t.learn(key(20), 3, 0);
    expect(t.lookup(key(20), 0)).toBe(3);
  });
});

describe('learning switch decisions', () => {
  const sw3 = () => {
    const sw = new LearningSwitch();
    for (const p of [0, 1, 2]) sw.addPort(p);
    return sw;
  };

  test('broadcast and unknown unicast flood; learned unicast goes to one port', () => {
    const sw = sw3();
    expect(sw.forward(0, frame(BCAST, mac(1)), 0, 60, 0)).toBe(FLOOD);
    expect(sw.forward(1, frame(mac(1), mac(2)), 0, 60, 0)).toBe(0);
    expect(sw.forward(0, frame(mac(2), mac(1)), 0, 60, 0)).toBe(1);
    expect(sw.forward(0, frame(mac(9), mac(1)), 0, 60, 0)).toBe(FLOOD);
    expect(sw.forward(0, frame(mac(1, 0x01), mac(1)), 0, 60, 0)).toBe(FLOOD); // multicast
    expect(sw.stats(0).rxFlooded).toBe(3);
    expect(sw.ports).toEqual([0, 1, 2]);
  });

  test('drops runts, oversize frames, bad sources and same-port destinations, with counters', () => {
    const sw = sw3();
    expect(sw.forward(0, frame(BCAST, mac(1), 13), 0, 13, 0)).toBe(DROP);
    expect(sw.forward(0, frame(BCAST, mac(1), 1515), 0, 1515, 0)).toBe(DROP);
    expect(sw.forward(0, frame(BCAST, mac(1), 1514), 0, 1514, 0)).toBe(FLOOD);
    expect(sw.forward(0, frame(BCAST, BCAST), 0, 60, 0)).toBe(DROP);
    expect(sw.forward(0, frame(BCAST, new Uint8Array(6)), 0, 60, 0)).toBe(DROP);
    sw.forward(0, frame(BCAST, mac(2)), 0, 60, 0);
    expect(sw.forward(0, frame(mac(2), mac(1)), 0, 60, 0)).toBe(DROP);
    const c = sw.stats(0);
    expect([c.rxRunts, c.rxOversize, c.rxBadSource, c.rxFiltered]).toEqual([1, 1, 2, 1]);
    expect(c.rxFrames).toBe(7);
    expect(sw.table.size).toBe(2); // bad sources were never learned
  });

  test('reads the MACs at an offset (a header gathered from a chain)', () => {
    const sw = sw3();
    const buf = new Uint8Array(100);
    buf.set(frame(BCAST, mac(5)).subarray(0, 12), 40);
    expect(sw.forward(2, buf, 40, 98, 0)).toBe(FLOOD);
    expect(sw.table.lookup(key(5), 0)).toBe(2);
  });

  test('a removed port is forgotten: its stations flood again', () => {
    const sw = sw3();
    sw.forward(1, frame(BCAST, mac(2)), 0, 60, 0);
    sw.removePort(1);
    expect(sw.forward(0, frame(mac(2), mac(1)), 0, 60, 0)).toBe(FLOOD);
    expect(sw.ports).toEqual([0, 2]);
    expect(() => sw.stats(1)).toThrow(RangeError);
    expect(() => sw.addPort(0)).toThrow(/exists/);
  });

  test('delivery outcomes land in the receiving port counters', () => {
    const sw = sw3();
    sw.delivered(1, 60, true);
    sw.delivered(1, 60, false);
    expect([sw.stats(1).txFrames, sw.stats(1).txBytes, sw.stats(1).txDropped]).toEqual([1, 60, 1]);
  });
});
