// Random interleavings of the two halves against a model: every chain
// reaches the device intact and in order, every token comes back exactly
// once with the length the device reported, every descriptor is owned by
// exactly one side at every step, and a side that went to sleep is always
// woken when work arrives for it. Runs start just short of the 16-bit index
// wrap, so every sequence crosses 65536.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isMalformed, type Segment } from '../src/index.ts';
import { makePair, type Pair } from './support/pair.ts';

type Op =
  | { t: 'add'; r: number[]; w: number[] }
  | { t: 'publish' }
  | { t: 'pop' }
  | { t: 'push'; pick: number; frac: number }
  | { t: 'devPublish' }
  | { t: 'reclaim' }
  | { t: 'devSleep' }
  | { t: 'drvSleep' };

const lens = fc.array(fc.integer({ min: 0, max: 64 }), { maxLength: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('add' as const), r: lens, w: lens }), weight: 4 },
  { arbitrary: fc.constant({ t: 'publish' as const }), weight: 2 },
  { arbitrary: fc.constant({ t: 'pop' as const }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('push' as const),
      pick: fc.nat(),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    weight: 3,
  },
  { arbitrary: fc.constant({ t: 'devPublish' as const }), weight: 2 },
  { arbitrary: fc.constant({ t: 'reclaim' as const }), weight: 3 },
  { arbitrary: fc.constant({ t: 'devSleep' as const }), weight: 1 },
  { arbitrary: fc.constant({ t: 'drvSleep' as const }), weight: 1 },
);

interface Chain {
  token: number;
  segments: Segment[];
  descs: number;
  writableLen: number;
}

/** Move `count` one-buffer chains through, to bring the indices near the wrap. */
function fastForward(p: Pair, count: number): void {
  for (let i = 0; i < count; i++) {
    p.driver.addBuffer(p.dataBase, 4, true, -1);
    p.driver.publish();
    p.device.push(p.device.popHead(), 4);
    p.device.publish();
    p.driver.reclaim();
  }
}

function run(
  size: number,
  eventIdx: boolean,
  indirect: boolean,
  skip: number,
  ops: Op[],
  memory: 'sab' | 'wasm' = 'sab',
): void {
  const maxEntries = Math.min(size, 4);
  const p = makePair({ size, eventIdx, indirect, indirectEntries: maxEntries, memory });
  fastForward(p, skip);
  let nextToken = 0;
  const added: Chain[] = []; // added, not yet published
  const published: Chain[] = []; // visible to the device, not popped
  const held = new Map<number, Chain>(); // popped: head -> chain
  const pushed: { chain: Chain; len: number }[] = []; // pushed, not yet published
  const used: { chain: Chain; len: number }[] = []; // published by the device, not reclaimed
  const completed = new Map<number, number>(); // token -> len
  const addedTokens: number[] = [];
  let devSleeping = false;
  let drvSleeping = false;

  const descsOf = (c: Chain[]) => c.reduce((s, x) => s + x.descs, 0);
  const driverPublish = () => {
    p.driver.publish();
    published.push(...added.splice(0));
    if (p.driver.kickNeeded()) devSleeping = false;
  };
  const devicePublish = () => {
    p.device.publish();
    used.push(...pushed.splice(0));
    if (p.device.interruptNeeded()) drvSleeping = false;
  };

  for (const o of ops) {
    if (o.t === 'add' && !drvSleeping) {
      let r = o.r;
      const w = o.w;
      if (r.length + w.length === 0) r = [1];
      while (r.length + w.length > size) (w.length ? w : r).pop();
      const token = nextToken++;
      let at = p.dataBase + (token % 512) * 1024;
      const seg = (len: number, writable: boolean): Segment => {
        const s = { addr: at, len, writable };
        at += 128;
        return s;
      };
      const segments = [...r.map((l) => seg(l, false)), ...w.map((l) => seg(l, true))];
      const total = segments.length;
      const descs = indirect && total > 1 && total <= maxEntries ? 1 : total;
      const free = p.driver.numFree;
      const ok = p.driver.add(
        segments.filter((s) => !s.writable),
        segments.filter((s) => s.writable),
        token,
      );
      expect(ok).toBe(free >= descs);
      if (ok) addedTokens.push(token);
      if (ok) added.push({ token, segments, descs, writableLen: w.reduce((a, b) => a + b, 0) });
    } else if (o.t === 'publish' && !drvSleeping) {
      driverPublish();
    } else if (o.t === 'pop' && !devSleeping) {
      const c = p.device.pop();
      if (published.length === 0) {
        expect(c).toBeNull();
        continue;
      }
      const want = published.shift()!;
      if (!c || isMalformed(c)) throw new Error(`pop: ${c ? c.error.message : 'nothing'}`);
      expect(c.segments).toEqual(want.segments);
      expect(c.writableLen).toBe(want.writableLen);
      expect(held.has(c.head)).toBe(false);
      held.set(c.head, want);
    } else if (o.t === 'push' && !devSleeping && held.size > 0) {
      const heads = [...held.keys()];
      const head = heads[o.pick % heads.length];
      const chain = held.get(head)!;
      const len = Math.floor(o.frac * chain.writableLen);
      p.device.push(head, len);
      held.delete(head);
      pushed.push({ chain, len });
    } else if (o.t === 'devPublish' && !devSleeping) {
      devicePublish();
    } else if (o.t === 'reclaim' && !drvSleeping) {
      const token = p.driver.reclaim();
      if (used.length === 0) {
        expect(token).toBeUndefined();
        continue;
      }
      const want = used.shift()!;
      expect(token).toBe(want.chain.token);
      expect(p.driver.reclaimedLen).toBe(want.len);
      expect(completed.has(want.chain.token)).toBe(false);
      completed.set(want.chain.token, want.len);
    } else if (o.t === 'devSleep' && !devSleeping) {
      // The device may only sleep when the re-check finds nothing...
      if (!p.device.enableNotifications())
        devSleeping = published.length === 0 || fail('device re-check missed entries');
      else p.device.disableNotifications();
    } else if (o.t === 'drvSleep' && !drvSleeping) {
      if (!p.driver.enableInterrupts())
        drvSleeping = used.length === 0 || fail('driver re-check missed entries');
      else p.driver.disableInterrupts();
    }
    // ...and is woken before work waits for it (no lost wake-up).
    if (devSleeping) expect(published.length).toBe(0);
    if (drvSleeping) expect(used.length).toBe(0);
    // Every descriptor is owned by exactly one side.
    const inFlight = [
      ...added,
      ...published,
      ...held.values(),
      ...pushed.map((x) => x.chain),
      ...used.map((x) => x.chain),
    ];
    expect(p.driver.numFree + descsOf(inFlight)).toBe(size);
    expect(p.driver.outstanding).toBe(inFlight.length);
    expect(p.device.inFlight).toBe(held.size);
  }

  // Drain: everything added comes back exactly once.
  driverPublish();
  for (let c = p.device.pop(); c; c = p.device.pop()) {
    if (isMalformed(c)) throw c.error;
    const want = published.shift()!;
    held.set(c.head, want);
  }
  for (const [head, chain] of held) {
    p.device.push(head, chain.writableLen);
    pushed.push({ chain, len: chain.writableLen });
  }
  devicePublish();
  for (let t = p.driver.reclaim(); t !== undefined; t = p.driver.reclaim()) {
    const want = used.shift()!;
    expect(t).toBe(want.chain.token);
    expect(p.driver.reclaimedLen).toBe(want.len);
    expect(completed.has(t)).toBe(false);
    completed.set(t, want.len);
  }
  expect([...completed.keys()].sort((a, b) => a - b)).toEqual(addedTokens);
  expect(used.length + published.length + added.length).toBe(0);
  expect(p.driver.numFree).toBe(size);
  expect(p.driver.outstanding).toBe(0);
}

function fail(msg: string): never {
  throw new Error(msg);
}

describe.each([
  [false, false],
  [true, false],
  [false, true],
  [true, true],
])('EVENT_IDX %s, INDIRECT_DESC %s', (eventIdx, indirect) => {
  test('random interleavings keep ownership, order and exactly-once completion', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8, 16),
        fc.integer({ min: 65536 - 200, max: 65536 }),
        fc.array(op, { minLength: 50, maxLength: 400 }),
        (size, skip, ops) => run(size, eventIdx, indirect, skip, ops),
      ),
      { numRuns: 40 },
    );
  });
});

// The same properties with the ring indexes in a WebAssembly.Memory, which
// reaches them through WebAssembly's atomics instead of Atomics (ring-index.ts).
describe('in a shared WebAssembly.Memory, EVENT_IDX and INDIRECT_DESC', () => {
  test('random interleavings keep ownership, order and exactly-once completion', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 4, 16),
        fc.integer({ min: 65536 - 200, max: 65536 }),
        fc.array(op, { minLength: 50, maxLength: 400 }),
        (size, skip, ops) => run(size, true, true, skip, ops, 'wasm'),
      ),
      { numRuns: 20 },
    );
  });
});
