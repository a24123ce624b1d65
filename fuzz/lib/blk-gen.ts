// virtio-blk requests as a driver lays them out, and as a bad driver gets
// them wrong: a 16-byte header (type, reserved, sector) and the data cut
// into descriptors at random points (the header split too, or sharing a
// descriptor with data), a status byte of its own or at the end of the last
// data buffer, or missing; DISCARD / WRITE_ZEROES segment lists; sectors at
// and past the capacity, u64s past 2^53; now and then buffers that overlap.
import {
  BLK_DWZ_SEGMENT_SIZE,
  BLK_REQ_HEADER_SIZE,
  BLK_SECTOR_SIZE,
  BlkRequestType,
} from '../../packages/virtio-ring/src/index.ts';
import type { FuzzGuest } from './guest.ts';
import { type Buf, type Bump, cuts } from './ring-gen.ts';
import type { Rng } from './rng.ts';

const T = BlkRequestType;
const TYPES = [T.IN, T.OUT, T.FLUSH, T.GET_ID, T.DISCARD, T.WRITE_ZEROES];

/** A u64 as two u32 words. */
export interface U64 {
  lo: number;
  hi: number;
}

export function u64Value(x: U64): bigint {
  return (BigInt(x.hi >>> 0) << 32n) | BigInt(x.lo >>> 0);
}

/** A sector a driver might name: inside, at and past the end, or absurd. */
export function sectorNear(rng: Rng, capacity: number): U64 {
  const small = (v: number): U64 => ({ lo: Math.max(0, v) >>> 0, hi: 0 });
  switch (rng.int(8)) {
    case 0:
      return small(0);
    case 1:
    case 2:
      return small(rng.int(capacity));
    case 3:
      return small(capacity - rng.range(0, 8));
    case 4:
      return small(capacity + rng.range(1, 8));
    case 5:
      return { lo: rng.u32(), hi: rng.pick([0x1fffff, 0x200000, 0x7fffffff, 0xffffffff]) };
    case 6:
      return { lo: 0xffffffff, hi: 0xffffffff };
    default:
      return { lo: rng.u32(), hi: rng.chance(0.5) ? 0 : rng.u32() };
  }
}

function le32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}

export interface BlkLimitsSeen {
  capacity: number;
  maxSeg: number;
}

/**
 * Lay out one request in guest memory; returns its buffers in chain order
 * (the caller links them into descriptors).
 */
export function blkRequest(rng: Rng, g: FuzzGuest, data: Bump, lim: BlkLimitsSeen): Buf[] {
  const type = rng.chance(0.9) ? rng.pick(TYPES) : rng.pick([2, 3, 7, 9, rng.u32()]);
  const sector =
    type === T.FLUSH && rng.chance(0.7) ? { lo: 0, hi: 0 } : sectorNear(rng, lim.capacity);
  const header = new Uint8Array(BLK_REQ_HEADER_SIZE);
  le32(header, 0, type);
  le32(header, 4, rng.chance(0.8) ? 0 : rng.u32());
  le32(header, 8, sector.lo);
  le32(header, 12, sector.hi);

  const sectors = () =>
    rng.pick([0, 1, 1, 2, 4, 8]) * BLK_SECTOR_SIZE + (rng.chance(0.05) ? rng.range(1, 511) : 0);
  let payload = new Uint8Array(0); // readable bytes after the header
  let writable = 0; // writable data bytes before the status
  if (type === T.OUT) payload = new Uint8Array(sectors());
  else if (type === T.IN) writable = sectors();
  else if (type === T.GET_ID) writable = rng.pick([20, 20, 0, 1, 19, 21, 512]);
  else if (type === T.DISCARD || type === T.WRITE_ZEROES) {
    const n = rng.chance(0.1) ? 0 : rng.range(1, lim.maxSeg + (rng.chance(0.2) ? 1 : 0));
    payload = new Uint8Array(n * BLK_DWZ_SEGMENT_SIZE + (rng.chance(0.05) ? rng.range(1, 15) : 0));
    for (let i = 0; i + BLK_DWZ_SEGMENT_SIZE <= payload.length; i += BLK_DWZ_SEGMENT_SIZE) {
      // Mostly sane segments, so the executor gets past validation and acts.
      const sane = rng.chance(0.7);
      const s = sane ? { lo: rng.int(lim.capacity), hi: 0 } : sectorNear(rng, lim.capacity);
      le32(payload, i, s.lo);
      le32(payload, i + 4, s.hi);
      le32(payload, i + 8, sane ? rng.range(0, 8) : rng.pick([0, 8, lim.capacity, rng.u32()]));
      const flags = type === T.WRITE_ZEROES ? rng.int(2) : 0;
      le32(payload, i + 12, rng.chance(0.85) ? flags : rng.pick([1, 2, rng.u32()]));
    }
  } else if (rng.chance(0.3)) payload = new Uint8Array(rng.range(1, 600));
  if (type === T.OUT || type >= 16) rng.fill(payload);

  const readable = new Uint8Array(BLK_REQ_HEADER_SIZE + payload.length);
  readable.set(header);
  readable.set(payload, BLK_REQ_HEADER_SIZE);
  // The header alone in a short chain, or cut anywhere (a 10 + 6 header is legal).
  const rPieces = rng.chance(0.05) ? [rng.range(0, 15)] : cuts(rng, readable.length);
  const status = rng.weighted([85, 8, 4, 3]); // own, merged with data, none, readable
  const wPieces = cuts(rng, writable + (status === 1 ? 1 : 0));

  const bufs: Buf[] = [];
  const place = (len: number, isWritable: boolean, bytes?: Uint8Array): void => {
    let addr = data.alloc(len, rng.pick([1, 2, 16, 512]));
    if (addr < 0 || (isWritable && bufs.length > 0 && rng.chance(0.04))) {
      // Out of room, or a deliberate overlap with an earlier buffer.
      const other = bufs.length ? rng.pick(bufs) : { addr: 0, len: 0 };
      addr = Math.min(g.size - len, other.addr);
    }
    if (bytes) g.writeBytes(addr, bytes);
    else g.writeBytes(addr, new Uint8Array(len).fill(rng.u32() & 0xff));
    bufs.push({ addr, len, writable: isWritable });
  };
  let off = 0;
  for (const len of rPieces) {
    place(len, false, readable.subarray(off, off + len));
    off += len;
  }
  if (writable > 0 || status === 1) for (const len of wPieces) place(len, true);
  if (status === 0) place(1, true);
  if (status === 3) place(1, false, new Uint8Array([0xee]));
  if (rng.chance(0.03)) bufs.push(bufs.splice(rng.int(bufs.length), 1)[0]); // out of order
  return bufs;
}
