// A hostile driver against a real blk backend worker: corrupted requests
// (bad header, read-only status, wild addresses, past capacity, unknown
// type) each get IOERR or len 0, nothing outside guest memory is touched,
// and the backend keeps serving. A broken ring stops the queue with
// DEVICE_NEEDS_RESET; after a reset it serves again.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BlkRequestType,
  BlkStatus,
  encodeBlkHeader,
  VIRTQ_DESC_F_NEXT as NEXT,
  QUEUE_COUNTER,
  VIRTQ_DESC_F_WRITE as WRITE,
} from '../packages/virtio-ring/src/index.ts';
import { type BlkRig, RIG_MEMORY, startBlkRig } from './support/blk-backend-rig.ts';
import { hostPattern, useScratchDir } from './support/blk-harness.ts';

const dir = useScratchDir();
const rigs: BlkRig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.stop().catch(() => r.worker.terminate());
});

const DISK = 64 * 1024; // 128 sectors
const HDR = 0x30000;
const DATA = 0x40000;
const STATUS = 0x50000;

async function rig(opts: { readonly?: boolean } = {}): Promise<{ r: BlkRig; path: string }> {
  const path = join(dir.path, 'hostile.img');
  writeFileSync(path, hostPattern(2, 0, DISK));
  const r = await startBlkRig({ path, ...(opts.readonly ? { readonly: true } : {}) });
  rigs.push(r);
  r.driverOk();
  return { r, path };
}

/** Header for request k at HDR + 32k; its status byte at STATUS + k, prefilled 0xAA. */
function header(r: BlkRig, k: number, type: number, sector: number): number {
  encodeBlkHeader({ type, sector }, r.mem.u8, HDR + 32 * k);
  r.mem.u8[STATUS + k] = 0xaa;
  return HDR + 32 * k;
}

describe('corrupted requests are answered, and the backend serves on', () => {
  test('bad header, read-only status, wild addresses, past capacity, unknown type; then a good read', async () => {
    const { r } = await rig();
    const d = r.driver;
    const st = (k: number) => ({ addr: STATUS + k, len: 1, flags: WRITE });
    // 0: an 8-byte header (must be 16): IOERR, len 0
    header(r, 0, BlkRequestType.IN, 0);
    d.writeChain(0, [{ addr: HDR, len: 8, flags: NEXT, next: 1 }, st(0)]);
    // 2: status descriptor read-only, after a writable data buffer: malformed chain, len 0
    d.writeChain(2, [
      { addr: header(r, 1, BlkRequestType.IN, 0), len: 16, flags: NEXT, next: 3 },
      { addr: DATA, len: 512, flags: WRITE | NEXT, next: 4 },
      { addr: STATUS + 1, len: 1 },
    ]);
    // 5: data at a wild u64 address: malformed chain, len 0
    d.writeChain(5, [
      { addr: header(r, 2, BlkRequestType.IN, 0), len: 16, flags: NEXT, next: 6 },
      { addr: 1n << 40n, len: 512, flags: WRITE | NEXT, next: 7 },
      st(2),
    ]);
    // 8: data running past the end of guest memory
    d.writeChain(8, [
      { addr: header(r, 3, BlkRequestType.IN, 0), len: 16, flags: NEXT, next: 9 },
      { addr: RIG_MEMORY - 100, len: 512, flags: WRITE | NEXT, next: 10 },
      st(3),
    ]);
    // 11: a read at the first sector past the disk: IOERR (len 0: no data was written)
    d.writeChain(11, [
      { addr: header(r, 4, BlkRequestType.IN, DISK / 512), len: 16, flags: NEXT, next: 12 },
      { addr: DATA, len: 512, flags: WRITE | NEXT, next: 13 },
      st(4),
    ]);
    // 14: unknown type: UNSUPP
    d.writeChain(14, [{ addr: header(r, 5, 99, 0), len: 16, flags: NEXT, next: 15 }, st(5)]);
    d.offer(0, 2, 5, 8, 11, 14);
    r.kick.ring();
    await r.usedReaches(6);
    const used = [0, 1, 2, 3, 4, 5].map((i) => d.used(i));
    expect(used).toEqual([
      { id: 0, len: 0 },
      { id: 2, len: 0 },
      { id: 5, len: 0 },
      { id: 8, len: 0 },
      { id: 11, len: 0 },
      { id: 14, len: 1 },
    ]);
    const status = (k: number) => r.mem.u8[STATUS + k];
    expect(status(0)).toBe(BlkStatus.IOERR);
    expect(status(1)).toBe(0xaa); // read-only: the device never wrote it
    expect([status(2), status(3)]).toEqual([0xaa, 0xaa]); // the ring refused the chain
    expect(status(4)).toBe(BlkStatus.IOERR);
    expect(status(5)).toBe(BlkStatus.UNSUPP);
    expect(r.counters.queueTotal(QUEUE_COUNTER.malformed)).toBe(3);
    expect(r.eventPending()).toBe(true); // completions interrupt the guest

    // Still serving: a good 4 KiB read at sector 8 brings the file's bytes.
    r.mem.u8.fill(0, DATA, DATA + 4096);
    d.writeChain(0, [
      { addr: header(r, 6, BlkRequestType.IN, 8), len: 16, flags: NEXT, next: 1 },
      { addr: DATA, len: 4096, flags: WRITE | NEXT, next: 2 },
      st(6),
    ]);
    d.offer(0);
    r.kick.ring();
    await r.usedReaches(7);
    expect(d.used(6)).toEqual({ id: 0, len: 4097 });
    expect(status(6)).toBe(BlkStatus.OK);
    expect(
      Buffer.from(r.mem.u8.subarray(DATA, DATA + 4096)).equals(hostPattern(2, 4096, 4096)),
    ).toBe(true);
  });

  test('a write to a read-only disk is IOERR and the file is unchanged', async () => {
    const { r, path } = await rig({ readonly: true });
    r.mem.u8.fill(0x77, DATA, DATA + 1024);
    r.driver.writeChain(0, [
      { addr: header(r, 0, BlkRequestType.OUT, 0), len: 16, flags: NEXT, next: 1 },
      { addr: DATA, len: 1024, flags: NEXT, next: 2 },
      { addr: STATUS, len: 1, flags: WRITE },
    ]);
    r.driver.offer(0);
    r.kick.ring();
    await r.usedReaches(1);
    expect(r.driver.used(0)).toEqual({ id: 0, len: 1 });
    expect(r.mem.u8[STATUS]).toBe(BlkStatus.IOERR);
    expect(readFileSync(path).equals(hostPattern(2, 0, DISK))).toBe(true);
  });
});

describe('a broken ring', () => {
  test('an avail.idx jump stops the queue with DEVICE_NEEDS_RESET; a reset brings it back', async () => {
    const { r } = await rig();
    r.driver.setAvailIdx(1000); // > N entries at once: no valid driver does this
    r.kick.ring();
    const until = Date.now() + 10_000;
    while (!r.control.needsReset && Date.now() < until) await new Promise((s) => setTimeout(s, 1));
    expect(r.control.needsReset).toBe(true);
    expect(r.counters.queueTotal(QUEUE_COUNTER.broken)).toBe(1);
    expect(r.eventPending()).toBe(true); // the guest is told
    expect(r.driver.usedIdx()).toBe(0); // nothing was processed

    r.reset();
    while (!r.control.applied([0]) && Date.now() < until)
      await new Promise((s) => setTimeout(s, 1));
    expect(r.control.needsReset).toBe(false);
    r.driverOk();
    r.driver.writeChain(0, [
      { addr: header(r, 0, BlkRequestType.FLUSH, 0), len: 16, flags: NEXT, next: 1 },
      { addr: STATUS, len: 1, flags: WRITE },
    ]);
    r.driver.offer(0);
    r.kick.ring();
    await r.usedReaches(1);
    expect(r.mem.u8[STATUS]).toBe(BlkStatus.OK);
  });

  test('queue GPAs outside guest memory at DRIVER_OK: needs reset, no crash', async () => {
    const { r } = await rig();
    r.reset();
    r.control.publish(1, r.features, [
      { index: 0, ready: true, size: 16, desc: RIG_MEMORY - 64, avail: 0x11000, used: 0x12000 },
    ]);
    r.kick.ring();
    const until = Date.now() + 10_000;
    while (!r.control.needsReset && Date.now() < until) await new Promise((s) => setTimeout(s, 1));
    expect(r.control.needsReset).toBe(true);
    // The worker is alive and stops cleanly when asked (afterEach).
    expect(r.worker.threadId).toBeGreaterThan(0);
  });
});
