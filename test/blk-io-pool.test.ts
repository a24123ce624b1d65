// The blk I/O pool ("iothreads"): a real backend worker with real helper
// threads on a real file, driven by a hand-written ring. Many requests with
// checksums, used entries out of order, a FLUSH that covers the writes the
// pool still holds, and a host error in one helper that fails only its job.
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createIoJobBuffers, IoJobs } from '../packages/backends/src/blk/io-jobs.ts';
import {
  BLK_COUNTER_NAMES,
  BlkIoPool,
  BlkQueueHandler,
  blkDeviceConfig,
  blkWorkerEntry,
  MemoryImage,
} from '../packages/backends/src/index.ts';
import {
  BlkRequestType,
  BlkStatus,
  DeviceQueue,
  encodeBlkHeader,
  GuestMemory,
  layoutSplitQueue,
  VIRTQ_DESC_F_NEXT as NEXT,
  RawDriver,
  VIRTQ_DESC_F_WRITE as WRITE,
} from '../packages/virtio-ring/src/index.ts';
import { bundleEntry } from '../packages/vmm/src/index.ts';
import { type BlkRig, startBlkRig } from './support/blk-backend-rig.ts';
import { hostPattern, useScratchDir, within } from './support/blk-harness.ts';

const dir = useScratchDir();
const rigs: BlkRig[] = [];
const pools: BlkIoPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  for (const r of rigs.splice(0)) await r.stop().catch(() => r.worker.terminate());
});

const DISK = 1 << 20;
const QSIZE = 64;
/** Requests from 32 KiB up go to the pool (smaller ones the queue's thread copies). */
const BS = 32 * 1024;
const HDR = 0x30000;
const STATUS = 0x38000;
const DATA = 0x40000; // up to 0xF0000: 704 KiB of buffers

async function rig(iothreads: number): Promise<{ r: BlkRig; path: string }> {
  const path = join(dir.path, `pool-${iothreads}.img`);
  writeFileSync(path, hostPattern(7, 0, DISK));
  const r = await startBlkRig({ path, iothreads }, QSIZE);
  rigs.push(r);
  r.driverOk();
  return { r, path };
}

/** Request k as chain k (descriptors 3k..3k+2): header, data, status (prefilled 0xAA). */
function chain(r: BlkRig, k: number, type: number, sector: number, data: number, len: number) {
  encodeBlkHeader({ type, sector }, r.mem.u8, HDR + 16 * k);
  r.mem.u8[STATUS + k] = 0xaa;
  const toGuest = type === BlkRequestType.IN || type === BlkRequestType.GET_ID;
  r.driver.writeChain(3 * k, [
    { addr: HDR + 16 * k, len: 16, flags: NEXT, next: 3 * k + 1 },
    { addr: data, len, flags: NEXT | (toGuest ? WRITE : 0), next: 3 * k + 2 },
    { addr: STATUS + k, len: 1, flags: WRITE },
  ]);
  return 3 * k;
}

/** Offer heads, kick, wait until used.idx has moved by heads.length; the used entries. */
async function run(r: BlkRig, heads: number[]): Promise<{ id: number; len: number }[]> {
  const from = r.driver.usedIdx();
  r.driver.offer(...heads);
  r.kick.ring();
  await r.usedReaches((from + heads.length) & 0xffff);
  return heads.map((_, i) => r.driver.used((from + i) & 0xffff));
}

describe('a disk with I/O helpers', () => {
  test('300 random 32 KiB writes and 300 reads keep every byte (2 helpers)', async () => {
    const { r, path } = await rig(2);
    const model = hostPattern(7, 0, DISK);
    let x = 12345;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const N = 10;
    for (let round = 0; round < 30; round++) {
      const blocks = new Set<number>();
      while (blocks.size < N) blocks.add(Math.floor(rnd() * (DISK / BS)));
      const list = [...blocks];
      const heads = list.map((b, k) => {
        const buf = r.mem.u8.subarray(DATA + k * BS, DATA + (k + 1) * BS);
        for (let i = 0; i < BS; i++) buf[i] = Math.floor(rnd() * 256);
        model.set(buf, b * BS);
        return chain(r, k, BlkRequestType.OUT, b * (BS / 512), DATA + k * BS, BS);
      });
      for (const u of await run(r, heads)) expect(u.len).toBe(1);
      for (let k = 0; k < N; k++) expect(r.mem.u8[STATUS + k]).toBe(BlkStatus.OK);
      // Read them back into other buffers, in another order.
      r.mem.u8.fill(0, DATA + N * BS, DATA + 2 * N * BS);
      const back = list.map((b, k) =>
        chain(r, k, BlkRequestType.IN, b * (BS / 512), DATA + (N + k) * BS, BS),
      );
      for (const u of await run(r, back.reverse())) expect(u.len).toBe(BS + 1);
      list.forEach((b, k) => {
        const got = r.mem.u8.subarray(DATA + (N + k) * BS, DATA + (N + k + 1) * BS);
        expect(Buffer.from(got).equals(model.subarray(b * BS, (b + 1) * BS))).toBe(true);
      });
    }
    expect(readFileSync(path).equals(model)).toBe(true);
    // All but the last chain of each batch went through the pool.
    await r.stop();
    rigs.splice(0);
    const pooled = r.counters.f64[r.counters.deviceBase(0) + BLK_COUNTER_NAMES.indexOf('pooled')];
    expect(pooled).toBe(30 * 2 * (N - 1));
  });

  test('used entries complete out of order: a GET_ID after 14 pooled reads is not last', async () => {
    const { r } = await rig(1);
    const heads = Array.from({ length: 14 }, (_, k) =>
      chain(r, k, BlkRequestType.IN, (k * 65536) / 512, DATA + k * 0x8000, 0x8000),
    );
    const id = chain(r, 14, BlkRequestType.GET_ID, 0, DATA + 14 * 0x8000, 20);
    const used = await run(r, [...heads, id]);
    expect(used.map((u) => u.id).sort((a, b) => a - b)).toEqual([...heads, id]);
    expect(used.findIndex((u) => u.id === id)).toBeLessThan(14);
    for (let k = 0; k < 14; k++) {
      const got = r.mem.u8.subarray(DATA + k * 0x8000, DATA + (k + 1) * 0x8000);
      expect(Buffer.from(got).equals(hostPattern(7, k * 65536, 0x8000))).toBe(true);
    }
  });

  test('a FLUSH behind pooled writes completes after all of them, with their data in the file', async () => {
    const { r, path } = await rig(2);
    const fd = openSync(path, 'r');
    try {
      for (let round = 0; round < 5; round++) {
        const fill = 0x10 + round;
        r.mem.u8.fill(fill, DATA, DATA + 0x10000);
        const heads = Array.from({ length: 14 }, (_, k) =>
          chain(r, k, BlkRequestType.OUT, (k * 65536) / 512, DATA, 0x10000),
        );
        const flush = 3 * 14; // header, status
        encodeBlkHeader({ type: BlkRequestType.FLUSH, sector: 0 }, r.mem.u8, HDR + 16 * 14);
        r.mem.u8[STATUS + 14] = 0xaa;
        r.driver.writeChain(flush, [
          { addr: HDR + 16 * 14, len: 16, flags: NEXT, next: flush + 1 },
          { addr: STATUS + 14, len: 1, flags: WRITE },
        ]);
        r.driver.offer(...heads, flush);
        r.kick.ring();
        // Watch the FLUSH's status byte from this thread: the moment it says OK,
        // every write before it must already be in the file.
        const until = Date.now() + 10_000;
        while (Atomics.load(r.mem.u8, STATUS + 14) === 0xaa && Date.now() < until);
        expect(r.mem.u8[STATUS + 14]).toBe(BlkStatus.OK);
        const got = Buffer.alloc(14 * 65536);
        readSync(fd, got, 0, got.length, 0);
        expect(got.every((b) => b === fill)).toBe(true);
        await r.usedReaches((15 * (round + 1)) & 0xffff);
        // The writes were taken back first: the FLUSH's used entry is the batch's last.
        expect(r.driver.used(15 * round + 14)).toEqual({ id: flush, len: 1 });
      }
    } finally {
      closeSync(fd);
    }
  });
});

describe('the job ring and the pool', () => {
  test('jobs come back in the order they finish, with the host error of each', () => {
    const b = createIoJobBuffers(8);
    const owner = new IoJobs(b);
    const copier = new IoJobs(b);
    const view = (at: number, len: number) => new Uint8Array(new ArrayBuffer(0x10000), at, len);
    owner.setJob(3, false, 4096, [view(0x100, 512), view(0x800, 512)], 2);
    owner.submit(3);
    owner.setJob(5, true, 0, [view(0x200, 1024)], 1);
    owner.submit(5);
    expect([copier.claim(), copier.claim(), copier.claim()]).toEqual([3, 5, -1]);
    const seen: number[][] = [];
    copier.run(5, (w, gpa, len, pos) => {
      seen.push([Number(w), gpa, len, pos]);
      throw Object.assign(new Error('EIO'), { errno: -5 });
    });
    copier.run(3, (w, gpa, len, pos) => void seen.push([Number(w), gpa, len, pos]));
    expect(seen).toEqual([
      [1, 0x200, 1024, 0],
      [0, 0x100, 512, 4096],
      [0, 0x800, 512, 4608],
    ]);
    expect([owner.nextDone(), owner.nextDone(), owner.nextDone()]).toEqual([5, 3, -1]);
    expect([owner.result(5), owner.result(3)]).toEqual([-5, 0]);
  });

  test('a host error in one helper fails its own requests with IOERR and a counter; the rest succeed', async () => {
    // A descriptor open for writing only: every read through it fails in the helper (EBADF).
    const path = join(dir.path, 'wronly.img');
    writeFileSync(path, Buffer.alloc(DISK));
    const fd = openSync(path, 'w');
    const memory = new SharedArrayBuffer(DISK);
    const mem = new GuestMemory(memory);
    const pool = new BlkIoPool(
      { memory, fd, threads: 2, slots: QSIZE, entry: bundleEntry(blkWorkerEntry()) },
      () => {
        throw new Error('the owner copies nothing in this test');
      },
    );
    pools.push(pool);
    const queue = layoutSplitQueue(0x10000, QSIZE, 16);
    const driver = new RawDriver(mem, queue);
    const shared = new Float64Array(BLK_COUNTER_NAMES.length);
    const logs: string[] = [];
    const handler = new BlkQueueHandler({
      image: MemoryImage.create(DISK), // what the executor checks against; the pool has the fd
      config: blkDeviceConfig({ sizeBytes: DISK, queues: 1 }, QSIZE),
      serial: 't',
      shared,
      sharedBase: 0,
      log: (l) => logs.push(l),
      pool,
    });
    const dq = new DeviceQueue(mem, queue);
    handler.start(dq, 0n);
    const r = { mem, driver } as unknown as BlkRig;
    const types = [BlkRequestType.OUT, BlkRequestType.IN, BlkRequestType.OUT, BlkRequestType.IN];
    const heads = types.map((t, k) => chain(r, k, t, k * 8, DATA + k * BS, BS));
    // The ring's last chain is done by the owner itself: a GET_ID there keeps all four pooled.
    const id = chain(r, 4, BlkRequestType.GET_ID, 0, DATA + 4 * BS, 20);
    driver.offer(...heads, id);
    const answers: number[] = [];
    for (let head = dq.popHead(); head >= 0; head = dq.popHead())
      answers.push(handler.handle(dq, head));
    expect(answers).toEqual([-1, -1, -1, -1, 21]);
    dq.push(id, 21);
    const lens = new Map<number, number>();
    await within(
      (async () => {
        while (lens.size < 5) {
          handler.reap(dq, () => {});
          dq.publish();
          for (let i = lens.size; i < driver.usedIdx(); i++)
            lens.set(driver.used(i).id, driver.used(i).len);
          await new Promise((res) => setTimeout(res, 1));
        }
      })(),
      10_000,
      'four pooled requests',
    );
    expect(heads.map((h) => lens.get(h))).toEqual([1, 0, 1, 0]);
    expect(lens.get(id)).toBe(21);
    expect([0, 1, 2, 3].map((k) => mem.u8[STATUS + k])).toEqual([
      BlkStatus.OK,
      BlkStatus.IOERR,
      BlkStatus.OK,
      BlkStatus.IOERR,
    ]);
    handler.close(); // mirrors the counters, stops the helpers
    pools.splice(0);
    expect(shared[BLK_COUNTER_NAMES.indexOf('errorsHostIo')]).toBe(2);
    expect(shared[BLK_COUNTER_NAMES.indexOf('bytesWritten')]).toBe(2 * BS);
    expect(shared[BLK_COUNTER_NAMES.indexOf('pooled')]).toBe(4);
    expect(logs.filter((l) => /host I\/O error on IN/.test(l))).toHaveLength(2);
    closeSync(fd);
  });
});
