// A device that writes nonsense into the used ring must not corrupt the
// driver: each fault is named, nothing is freed on its account, and the
// free list (kept in driver-private memory) stays whole.
import { describe, expect, test } from 'vitest';
import {
  DeviceFaultError,
  type DeviceQueueFaultKind,
  USED_IDX,
  USED_RING,
  VirtqueueUsageError,
} from '../src/index.ts';
import { makePair, type Pair } from './support/pair.ts';

/** The device writes used entry `slot` itself and publishes used.idx = idx. */
function forgeUsed(p: Pair, slot: number, id: number, len: number, idx: number): void {
  const v = p.mem.view;
  v.setUint32(p.queue.used + USED_RING + 8 * slot, id, true);
  v.setUint32(p.queue.used + USED_RING + 8 * slot + 4, len, true);
  v.setUint16(p.queue.used + USED_IDX, idx, true);
}

function faultOf(f: () => unknown): DeviceQueueFaultKind | 'none' {
  try {
    f();
  } catch (e) {
    if (e instanceof DeviceFaultError) return e.kind;
    throw e;
  }
  return 'none';
}

describe('a device that lies in the used ring', () => {
  const withTwo = () => {
    const p = makePair({ size: 8 });
    expect(p.driver.addBuffer(p.dataBase, 64, true, 100)).toBe(true);
    expect(
      p.driver.add([{ addr: p.dataBase, len: 8 }], [{ addr: p.dataBase + 64, len: 32 }], 200),
    ).toBe(true);
    p.driver.publish();
    return p;
  };

  test('id out of range', () => {
    const p = withTwo();
    forgeUsed(p, 0, 8, 0, 1);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-id-out-of-range');
    expect(p.driver.broken?.kind).toBe('used-id-out-of-range');
    expect(p.driver.numFree).toBe(5);
  });

  test('id of a descriptor that is not an outstanding head (the tail of a chain)', () => {
    const p = withTwo();
    // Head 0 is the one-buffer chain, heads 1 -> 2 the two-buffer chain: 2 is not a head.
    forgeUsed(p, 0, 2, 0, 1);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-id-not-outstanding');
    expect(p.driver.numFree).toBe(5);
    expect(p.driver.outstanding).toBe(2);
  });

  test('the same head completed twice', () => {
    const p = withTwo();
    forgeUsed(p, 0, 0, 64, 1);
    expect(p.driver.reclaim()).toBe(100);
    forgeUsed(p, 1, 0, 64, 2);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-id-not-outstanding');
    expect(p.driver.numFree).toBe(6); // only the first completion freed anything
  });

  test('len larger than the chain can hold', () => {
    const p = withTwo();
    forgeUsed(p, 0, 1, 33, 1);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-len-too-large');
    expect(p.driver.numFree).toBe(5);
  });

  test('used.idx jumping more than N', () => {
    const p = withTwo();
    forgeUsed(p, 0, 0, 0, 9);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-index-jump');
  });

  test('after a fault the queue stays stopped: no reclaim, no add', () => {
    const p = withTwo();
    forgeUsed(p, 0, 8, 0, 1);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-id-out-of-range');
    forgeUsed(p, 0, 0, 64, 1);
    expect(faultOf(() => p.driver.reclaim())).toBe('used-id-out-of-range');
    expect(faultOf(() => p.driver.addBuffer(p.dataBase, 1, false, 3))).toBe('used-id-out-of-range');
    // Reset path: every token comes back once.
    expect(p.driver.detachAll().sort()).toEqual([100, 200]);
  });

  test('a device rewriting descriptors cannot corrupt the free list', () => {
    const p = withTwo();
    // Scribble over the whole descriptor table (next fields included).
    p.mem.u8.fill(0xff, p.queue.desc, p.queue.desc + 16 * 8);
    forgeUsed(p, 0, 1, 32, 1);
    expect(p.driver.reclaim()).toBe(200);
    expect(p.driver.numFree).toBe(7);
    // All 7 free descriptors are usable and distinct.
    const heads = new Set<number>();
    for (let i = 0; i < 7; i++) {
      expect(p.driver.addBuffer(p.dataBase, 1, false, i)).toBe(true);
      heads.add(p.mem.view.getUint16(p.queue.avail + 4 + 2 * ((2 + i) % 8), true));
    }
    expect(heads.size).toBe(7);
    expect(heads.has(0)).toBe(false); // still held by token 100
    expect(p.driver.addBuffer(p.dataBase, 1, false, 99)).toBe(false);
  });
});

describe('misuse by the driver\u2019s own caller', () => {
  test('clear errors, nothing half-added', () => {
    const p = makePair({ size: 4 });
    const d = p.driver;
    expect(() => d.add([], [], 1)).toThrow(VirtqueueUsageError);
    expect(() => d.add([{ addr: 0, len: 1 }], [], undefined as unknown as number)).toThrow(/token/);
    const five = Array.from({ length: 5 }, () => ({ addr: p.dataBase, len: 1 }));
    expect(() => d.add(five, [], 1)).toThrow(/5 buffers in a queue of 4/);
    expect(() => d.addBuffer(p.mem.size, 1, false, 1)).toThrow(/address-out-of-range/);
    expect(() => d.addBuffer(p.mem.size - 1, 2, false, 1)).toThrow(/range-out-of-bounds/);
    // Not u32: the fast path's integer compares must not let these through.
    expect(() => d.addBuffer(2 ** 32 + p.dataBase, 1, false, 1)).toThrow(/out-of-range/);
    expect(() => d.addBuffer(p.dataBase + 0.5, 1, false, 1)).toThrow();
    expect(() => d.addBuffer(p.dataBase, -1, false, 1)).toThrow();
    expect(() => d.addBuffer(p.dataBase, 2 ** 32, false, 1)).toThrow();
    expect(d.numFree).toBe(4);
    expect(() =>
      d.add(
        [
          { addr: p.dataBase, len: 1 },
          { addr: -1, len: 1 },
        ],
        [],
        1,
      ),
    ).toThrow(/bad-address/);
    expect(d.numFree).toBe(4);
    expect(d.outstanding).toBe(0);
    // No room: false, not an exception, and nothing consumed.
    expect(
      d.add(
        [
          { addr: p.dataBase, len: 1 },
          { addr: p.dataBase, len: 1 },
          { addr: p.dataBase, len: 1 },
        ],
        [],
        1,
      ),
    ).toBe(true);
    expect(
      d.add(
        [
          { addr: p.dataBase, len: 1 },
          { addr: p.dataBase, len: 1 },
        ],
        [],
        2,
      ),
    ).toBe(false);
    expect(d.numFree).toBe(1);
  });
});

describe('reclaimMany', () => {
  test('a batch in used order, then a fault mid-batch: the good ones are returned, the next call throws', () => {
    const p = makePair({ size: 8 });
    for (let t = 0; t < 4; t++) expect(p.driver.addBuffer(p.dataBase, 16, true, t)).toBe(true);
    p.driver.publish();
    const heads = [p.device.popHead(), p.device.popHead(), p.device.popHead()];
    p.device.push(heads[1], 5);
    p.device.push(heads[0], 16);
    p.device.publish();
    const tokens: number[] = [];
    const lens = new Uint32Array(8);
    expect(p.driver.reclaimMany(tokens, lens)).toBe(0); // max = tokens.length = 0
    tokens.length = 8;
    expect(p.driver.reclaimMany(tokens, lens)).toBe(2);
    expect([tokens.slice(0, 2), [...lens.slice(0, 2)]]).toEqual([
      [1, 0],
      [5, 16],
    ]);
    expect(p.driver.reclaimMany(tokens, lens)).toBe(0);
    // The device completes head 2 properly, then forges a completion of a free head.
    p.device.push(heads[2], 1);
    p.device.publish();
    forgeUsed(p, 3, heads[0], 0, 4);
    expect(p.driver.reclaimMany(tokens, lens)).toBe(1);
    expect(tokens[0]).toBe(2);
    expect(faultOf(() => p.driver.reclaimMany(tokens, lens))).toBe('used-id-not-outstanding');
    expect(p.driver.outstanding).toBe(1); // token 3, still with the device
    expect(p.driver.numFree).toBe(7);
  });
});

describe('the free list', () => {
  test('heads are reused in the order the device gave them back, chains whole', () => {
    const p = makePair({ size: 4 });
    const { driver, device } = p;
    for (let t = 0; t < 4; t++)
      expect(driver.addBuffer(p.dataBase + 64 * t, 64, true, t)).toBe(true);
    expect(driver.addBuffer(p.dataBase, 64, true, 9)).toBe(false);
    driver.publish();
    const heads = [0, 1, 2, 3].map(() => device.popHead());
    expect(heads).toEqual([0, 1, 2, 3]);
    device.push(2, 1);
    device.push(0, 2);
    device.publish();
    expect([driver.reclaim(), driver.reclaim()]).toEqual([2, 0]);
    // A stack would hand out 0 first; the queue hands out what came back first.
    expect(
      driver.add([{ addr: p.dataBase, len: 8 }], [{ addr: p.dataBase + 64, len: 8 }], 20),
    ).toBe(true);
    driver.publish();
    expect(device.popHead()).toBe(2);
    expect(device.chain.count).toBe(2);
    expect(driver.numFree).toBe(0);
    device.push(2, 8);
    device.push(1, 0);
    device.push(3, 0);
    device.publish();
    expect([driver.reclaim(), driver.reclaim(), driver.reclaim()]).toEqual([20, 1, 3]);
    expect(driver.reclaimedLen).toBe(0);
    expect(driver.numFree).toBe(4);
    // The chain 2 -> 0 came back whole, then 1 and 3: heads go out in that order.
    for (let t = 0; t < 4; t++)
      expect(driver.addBuffer(p.dataBase + 64 * t, 64, true, t)).toBe(true);
    driver.publish();
    expect([0, 1, 2, 3].map(() => device.popHead())).toEqual([2, 0, 1, 3]);
  });
});
