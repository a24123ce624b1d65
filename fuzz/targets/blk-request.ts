// blk-request: the virtio-blk request executor (BlkRequestExecutor over a
// MemoryImage) on chains the device half pops from fuzzed guest memory.
// Per request: it never throws; used.len <= the chain's writable bytes;
// the status is OK / IOERR / UNSUPP or null (no status byte), sits in the
// last writable byte, and OK exactly when no error counter moved; no guest
// byte outside the writable segments changes; the image changes only where
// an OK write, discard or write-zeroes says, with the guest's data or zeros;
// a read-only disk never changes; an OK read returns the image's bytes.
import {
  BLK_COUNTER_NAMES,
  BlkRequestExecutor,
  type BlkResult,
  blkDeviceConfig,
  MemoryImage,
} from '../../packages/backends/src/index.ts';
import {
  BLK_ID_BYTES,
  BLK_REQ_HEADER_SIZE,
  BLK_SECTOR_SIZE,
  BlkFeature,
  blkFeatureMask,
  type DescriptorChain,
  encodeBlkId,
  layoutSplitQueue,
  type Segment,
  BlkRequestType as T,
} from '../../packages/virtio-ring/src/index.ts';
import { blkRequest, u64Value } from '../lib/blk-gen.ts';
import { DeviceHarness } from '../lib/device-harness.ts';
import { type FuzzGuest, GuestPool } from '../lib/guest.ts';
import { Bump, distinctIndices } from '../lib/ring-gen.ts';
import type { Rng } from '../lib/rng.ts';
import { check, type FuzzTarget } from '../lib/runner.ts';
import { count } from '../lib/stats.ts';

const GUEST = 32 * 1024;
const DISK_SECTORS = 64;
/** Every counter of an answer other than OK (counters.ts: errors by cause, and UNSUPP). */
const ERROR_COUNTERS = BLK_COUNTER_NAMES.filter(
  (n) => n.startsWith('errors') || n === 'unsupported',
);

/** The bytes of an area made of segments, as the snapshot `from` holds them. */
function gather(from: Uint8Array, segs: readonly Segment[], skip: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const s of segs) {
    const from0 = Math.min(skip, s.len);
    skip -= from0;
    const take = Math.min(s.len - from0, n - at);
    out.set(from.subarray(s.addr + from0, s.addr + from0 + take), at);
    at += take;
  }
  return out;
}

function disjoint(segs: readonly Segment[]): boolean {
  const sorted = [...segs].sort((a, b) => a.addr - b.addr);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].addr < sorted[i - 1].addr + sorted[i - 1].len) return false;
  return true;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

interface Rig {
  g: FuzzGuest;
  image: MemoryImage;
  disk: Uint8Array;
  ex: BlkRequestExecutor;
  serial: string;
}

/** Check one execution against the chain, its readable bytes before it, and the image before it. */
function checkResult(
  rig: Rig,
  c: DescriptorChain,
  r: BlkResult,
  sent: Uint8Array,
  moved: Record<string, number>,
): void {
  const { g, image, disk } = rig;
  const segs = c.segments;
  const writable = segs.filter((s) => s.writable && s.len > 0);
  check([0, 1, 2, null].includes(r.status), `status ${r.status}`);
  check(
    Number.isInteger(r.len) && r.len >= 0 && r.len <= c.writableLen,
    `len ${r.len} > ${c.writableLen} writable`,
  );
  check(
    (r.status === null) === (c.writableLen === 0),
    `status ${r.status} with ${c.writableLen} writable bytes`,
  );
  if (r.status !== 0) check(r.len <= 1, `a failed request reports ${r.len} bytes written`);
  const errors = ERROR_COUNTERS.reduce((s, k) => s + moved[k], 0);
  check(
    (r.status === 0) === (errors === 0),
    `status ${r.status}, error counters moved by ${errors}`,
  );
  if (r.status !== null) {
    const last = writable[writable.length - 1];
    const at = last.addr + last.len - 1;
    check(g.u8[at] === r.status, `status byte at ${at} is ${g.u8[at]}, result says ${r.status}`);
  }
  // The header as the guest held it when the request started.
  const hdr = new Uint8Array(BLK_REQ_HEADER_SIZE); // zeros where a short chain has no header
  hdr.set(sent.subarray(0, BLK_REQ_HEADER_SIZE));
  const type =
    c.readableLen >= BLK_REQ_HEADER_SIZE ? new DataView(hdr.buffer).getUint32(0, true) : -1;
  const sector = u64Value({
    lo: new DataView(hdr.buffer).getUint32(8, true),
    hi: new DataView(hdr.buffer).getUint32(12, true),
  });
  const rData = c.readableLen - BLK_REQ_HEADER_SIZE;
  const wData = c.writableLen - 1;
  const ok = r.status === 0;
  const writes = type === T.OUT || type === T.DISCARD || type === T.WRITE_ZEROES;
  if (ok) count(`OK ${type}`);
  check(!(ok && writes && image.readOnly), `type ${type} OK on a read-only disk`);
  check(
    !(ok && ![T.IN, T.OUT, T.FLUSH, T.GET_ID, T.DISCARD, T.WRITE_ZEROES].includes(type as 0)),
    `type ${type} OK`,
  );
  check(!(ok && type === T.FLUSH && sector !== 0n), 'FLUSH with a sector answered OK');
  const cap = BigInt(image.capacitySectors);
  if (ok && (type === T.IN || type === T.OUT)) {
    const n = type === T.IN ? wData : rData;
    check(
      n % BLK_SECTOR_SIZE === 0 && sector + BigInt(n / BLK_SECTOR_SIZE) <= cap,
      `OK for ${n} bytes at sector ${sector} of ${cap}`,
    );
    check(moved[type === T.IN ? 'bytesRead' : 'bytesWritten'] === n, 'byte counter');
  }
  const now = new Uint8Array(image.buffer);
  const start = Number(sector) * BLK_SECTOR_SIZE;
  if (ok && type === T.OUT) {
    const want = sent.subarray(BLK_REQ_HEADER_SIZE);
    check(
      equal(now.subarray(start, start + rData), want),
      'OUT stored other bytes than the guest sent',
    );
    check(
      equal(now.subarray(0, start), disk.subarray(0, start)) &&
        equal(now.subarray(start + rData), disk.subarray(start + rData)),
      'OUT changed the image outside its range',
    );
  } else if (ok && writes) {
    const dwz = sent.slice(BLK_REQ_HEADER_SIZE);
    const dv = new DataView(dwz.buffer);
    const mayChange = new Uint8Array(now.length);
    for (let i = 0; i + 16 <= rData; i += 16) {
      const from = Number(dv.getBigUint64(i, true)) * BLK_SECTOR_SIZE;
      const len = dv.getUint32(i + 8, true) * BLK_SECTOR_SIZE;
      check(from + len <= now.length, 'discard range past the disk answered OK');
      mayChange.fill(1, from, from + len);
      check(
        now.subarray(from, from + len).every((b) => b === 0),
        'discarded range not zero',
      );
    }
    for (let i = 0; i < now.length; i++)
      if (!mayChange[i] && now[i] !== disk[i])
        check(false, `image byte ${i} changed outside the discard`);
  } else check(equal(now, disk), `image changed by type ${type} with status ${r.status}`);
  if (ok && (type === T.IN || type === T.GET_ID) && disjoint(writable)) {
    const n = type === T.IN ? wData : Math.min(BLK_ID_BYTES, wData);
    const got = gather(g.u8, writable, 0, n);
    const want =
      type === T.IN ? disk.subarray(start, start + n) : encodeBlkId(rig.serial).subarray(0, n);
    check(equal(got, want), `type ${type}: the guest got other bytes than the disk / id holds`);
  }
}

function execute(rig: Rig, h: DeviceHarness, c: DescriptorChain): number {
  const { g, ex, image } = rig;
  // What the guest sent (header and data), as it was before the device ran.
  const sent = gather(
    g.shadow,
    c.segments.filter((x) => !x.writable),
    0,
    c.readableLen,
  );
  rig.disk.set(new Uint8Array(image.buffer));
  const counters = { ...ex.counters };
  const r = ex.execute(g.mem, c);
  const moved: Record<string, number> = {};
  for (const k of Object.keys(counters) as (keyof typeof counters)[])
    moved[k] = ex.counters[k] - counters[k];
  checkResult(rig, c, r, sent, moved);
  count(`status ${r.status}`);
  // The device may have written its writable segments, and nothing else.
  for (const s of c.segments) if (s.writable) g.accept(s.addr, s.len);
  h.checkMemory('after execute');
  return r.len;
}

function iteration(rng: Rng, pool: GuestPool, disk: Uint8Array): void {
  const g = pool.get(GUEST);
  const n = rng.pick([4, 8, 16, 32]);
  const q = layoutSplitQueue(0, n);
  const indirect = rng.chance(0.7);
  const h = DeviceHarness.open(g, q, { indirect, eventIdx: rng.bool() });
  if (h === null) throw new Error('harness: a valid queue was refused');
  const readOnly = rng.chance(0.2);
  const bytes = DISK_SECTORS * BLK_SECTOR_SIZE - (rng.chance(0.1) ? rng.range(1, 511) : 0);
  const image = new MemoryImage(new SharedArrayBuffer(bytes), { readOnly });
  rng.fill(new Uint8Array(image.buffer), 0, 64);
  new Uint8Array(image.buffer).fill(rng.u32() & 0xff, 64);
  const limits = {
    sizeMax: rng.pick([512, 4096, 1 << 20, 1 << 20]),
    maxDiscardSectors: rng.pick([1, 8, 64]),
    maxDiscardSeg: rng.pick([1, 2, 4]),
    maxWriteZeroesSectors: rng.pick([1, 8, 64]),
    maxWriteZeroesSeg: rng.pick([1, 2, 4]),
    discardSectorAlignment: 8,
  };
  const config = blkDeviceConfig({ sizeBytes: bytes, queues: 1 }, n, limits);
  let acked = 0n;
  if (rng.chance(0.7)) acked |= blkFeatureMask(BlkFeature.DISCARD);
  if (rng.chance(0.7)) acked |= blkFeatureMask(BlkFeature.WRITE_ZEROES);
  const serial = rng.pick(['pvkit-fuzz', '', 'x'.repeat(20)]);
  const rig: Rig = {
    g,
    image,
    disk: disk.subarray(0, bytes),
    ex: new BlkRequestExecutor({ image, config, serial, ackedFeatures: acked }),
    serial,
  };
  const data = new Bump(Math.ceil(q.end / 512) * 512, GUEST);
  const requests = rng.range(1, 6);
  const free = distinctIndices(rng, n, n);
  for (let k = 0; k < requests; k++) {
    const bufs = blkRequest(rng, g, data, {
      capacity: image.capacitySectors,
      maxSeg: limits.maxDiscardSeg,
    });
    if (indirect && bufs.length > 1 && bufs.length <= n && rng.chance(0.5)) {
      const table = data.alloc(bufs.length * 16, 16);
      if (table < 0 || free.length === 0) break;
      h.ring.offer(h.ring.indirect(free.pop() as number, table, bufs));
    } else {
      if (bufs.length > free.length) break;
      h.ring.offer(h.ring.chain(free.splice(0, bufs.length), bufs));
    }
  }
  h.checkMemory('requests written');
  for (let r = h.pop(rng); r.t === 'chain'; r = h.pop(rng)) {
    if (r.chain === null) {
      count('chain refused by the ring');
      h.push(r.head, 0);
      continue;
    }
    h.push(r.head, execute(rig, h, r.chain));
  }
  h.publish();
  h.checkMemory('after the last request');
}

export const blkRequestTarget: FuzzTarget = {
  name: 'blk-request',
  about: 'BlkRequestExecutor on chains popped from fuzzed guest memory (memory disk, rw and ro)',
  prepare() {
    const pool = new GuestPool();
    const disk = new Uint8Array(DISK_SECTORS * BLK_SECTOR_SIZE);
    return (rng) => iteration(rng, pool, disk);
  },
};
