// The bytes the two halves write sit where VIRTIO 1.2 §2.7 puts them. Every
// check reads raw little-endian bytes with a DataView at offsets written out
// here from the spec, never through the package's own accessors.
import { describe, expect, test } from 'vitest';
import { DeviceQueue, DriverQueue, GuestMemory, type QueueAddresses } from '../src/index.ts';

// Deliberately not layoutSplitQueue(): odd but legal addresses, as a driver
// might program them through QueueDesc/QueueDriver/QueueDevice.
function place(n: number): QueueAddresses & { memBytes: number } {
  const desc = 0x10000;
  const avail = desc + 16 * n + 0x22; // 2-aligned, not 16
  const used = Math.ceil((avail + 6 + 2 * n) / 4) * 4 + 0x1c; // 4-aligned, not 16
  const end = used + 6 + 8 * n;
  return { size: n, desc, avail, used, memBytes: end + 0x100000 };
}

describe.each([1, 8, 256, 32768])('queue size %i', (n) => {
  const q = place(n);
  const setup = (eventIdx: boolean) => {
    const mem = new GuestMemory(new SharedArrayBuffer(q.memBytes));
    const view = new DataView(mem.buffer);
    const driver = new DriverQueue<string>(mem, q, { eventIdx });
    const device = new DeviceQueue(mem, q, { eventIdx });
    return { mem, view, driver, device };
  };
  const data = q.memBytes - 0x80000;

  test('descriptors, avail ring and used ring at the spec offsets', () => {
    const { view, driver, device } = setup(false);
    if (n === 1) {
      expect(driver.add([], [{ addr: data, len: 300 }], 'only')).toBe(true);
    } else {
      expect(driver.add([{ addr: data, len: 16 }], [{ addr: data + 0x100, len: 512 }], 'two')).toBe(
        true,
      );
    }
    driver.publish();
    // avail: flags u16 @0, idx u16 @2, ring[0] u16 @4
    expect(view.getUint16(q.avail + 0, true)).toBe(0);
    expect(view.getUint16(q.avail + 2, true)).toBe(1);
    const head = view.getUint16(q.avail + 4, true);
    expect(head).toBeLessThan(n);
    // descriptor: addr u64 @0, len u32 @8, flags u16 @12, next u16 @14
    const d = q.desc + 16 * head;
    expect(view.getBigUint64(d + 0, true)).toBe(BigInt(data));
    if (n === 1) {
      expect(view.getUint32(d + 8, true)).toBe(300);
      expect(view.getUint16(d + 12, true)).toBe(2); // WRITE
    } else {
      expect(view.getUint32(d + 8, true)).toBe(16);
      expect(view.getUint16(d + 12, true)).toBe(1); // NEXT
      const next = view.getUint16(d + 14, true);
      expect(next).toBeLessThan(n);
      expect(next).not.toBe(head);
      const d2 = q.desc + 16 * next;
      expect(view.getBigUint64(d2 + 0, true)).toBe(BigInt(data + 0x100));
      expect(view.getUint32(d2 + 8, true)).toBe(512);
      expect(view.getUint16(d2 + 12, true)).toBe(2); // WRITE, no NEXT
    }
    const h = device.popHead();
    expect(h).toBe(head);
    device.push(h, 7);
    device.publish();
    // used: flags u16 @0, idx u16 @2, ring[0] {id u32 @4, len u32 @8}
    expect(view.getUint16(q.used + 0, true)).toBe(0);
    expect(view.getUint16(q.used + 2, true)).toBe(1);
    expect(view.getUint32(q.used + 4, true)).toBe(head);
    expect(view.getUint32(q.used + 8, true)).toBe(7);
    expect(driver.reclaim()).toBe(n === 1 ? 'only' : 'two');
    expect(driver.reclaimedLen).toBe(7);
  });

  test('suppression flags at avail+0 and used+0', () => {
    const { view, driver, device } = setup(false);
    driver.disableInterrupts();
    expect(view.getUint16(q.avail + 0, true)).toBe(1); // VRING_AVAIL_F_NO_INTERRUPT
    device.disableNotifications();
    expect(view.getUint16(q.used + 0, true)).toBe(1); // VRING_USED_F_NO_NOTIFY
    driver.enableInterrupts();
    device.enableNotifications();
    expect(view.getUint16(q.avail + 0, true)).toBe(0);
    expect(view.getUint16(q.used + 0, true)).toBe(0);
  });

  test('used_event at avail+4+2N and avail_event at used+4+8N, across the ring wrap', () => {
    const { view, driver, device } = setup(true);
    // Move every slot once (and past the wrap for small rings): the
    // event fields follow the indices mod 2^16.
    const rounds = n + 3;
    const wrong: string[] = [];
    for (let i = 0; i < rounds; i++) {
      driver.addBuffer(data + 64 * (i % 16), 64, true, `t${i}`);
      driver.publish();
      const h = device.popHead();
      // ring[slot] holds the head for every slot, including N-1
      if (view.getUint16(q.avail + 4 + 2 * (i % n), true) !== h) wrong.push(`avail slot ${i}`);
      device.push(h, 1);
      device.publish();
      if (view.getUint32(q.used + 4 + 8 * (i % n), true) !== h) wrong.push(`used id ${i}`);
      if (view.getUint32(q.used + 8 + 8 * (i % n), true) !== 1) wrong.push(`used len ${i}`);
      if (driver.reclaim() !== `t${i}`) wrong.push(`token ${i}`);
    }
    expect(wrong).toEqual([]);
    expect(view.getUint16(q.avail + 2, true)).toBe(rounds & 0xffff);
    expect(view.getUint16(q.used + 2, true)).toBe(rounds & 0xffff);
    expect(driver.enableInterrupts()).toBe(false);
    expect(view.getUint16(q.avail + 4 + 2 * n, true)).toBe(rounds);
    driver.disableInterrupts();
    expect(view.getUint16(q.avail + 4 + 2 * n, true)).toBe(rounds - 1);
    expect(device.enableNotifications()).toBe(false);
    expect(view.getUint16(q.used + 4 + 8 * n, true)).toBe(rounds);
    // Nothing written past the used ring's last field.
    expect(view.getUint16(q.used + 6 + 8 * n, true)).toBe(0);
  });
});
