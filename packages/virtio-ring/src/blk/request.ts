// The two structures a driver writes and a device reads: the request header
// and the DISCARD / WRITE_ZEROES segment (VIRTIO 1.2 §5.2.6), plus the
// GET_ID string. Sectors are numbers (see readU64): exact for every disk
// whose size in bytes is an exact JS number.

import {
  checkRoom,
  checkUint,
  readU32,
  readU64,
  U32_MAX,
  U64_MAX_EXACT,
  writeU32,
  writeU64,
} from '../le.ts';
import { BLK_DWZ_SEGMENT_SIZE, BLK_ID_BYTES, BLK_REQ_HEADER_SIZE } from './constants.ts';

/** Field offsets inside the 16-byte request header. */
export const BlkHeaderOffset = { TYPE: 0, RESERVED: 4, SECTOR: 8 } as const;

export interface BlkRequestHeader {
  type: number;
  /** Was `ioprio` in legacy virtio; devices ignore it. */
  reserved: number;
  sector: number;
}

/** Decode a header; pass `out` to reuse one object on a hot path. */
export function decodeBlkHeader(
  bytes: Uint8Array,
  offset = 0,
  out: BlkRequestHeader = { type: 0, reserved: 0, sector: 0 },
): BlkRequestHeader {
  checkRoom('virtio-blk header', bytes, offset, BLK_REQ_HEADER_SIZE);
  out.type = readU32(bytes, offset + BlkHeaderOffset.TYPE);
  out.reserved = readU32(bytes, offset + BlkHeaderOffset.RESERVED);
  out.sector = readU64(bytes, offset + BlkHeaderOffset.SECTOR);
  return out;
}

export function encodeBlkHeader(
  h: { type: number; reserved?: number; sector: number },
  bytes: Uint8Array,
  offset = 0,
): void {
  checkRoom('virtio-blk header', bytes, offset, BLK_REQ_HEADER_SIZE);
  checkUint('header.type', h.type, U32_MAX);
  checkUint('header.reserved', h.reserved ?? 0, U32_MAX);
  checkUint('header.sector', h.sector, U64_MAX_EXACT);
  writeU32(bytes, offset + BlkHeaderOffset.TYPE, h.type);
  writeU32(bytes, offset + BlkHeaderOffset.RESERVED, h.reserved ?? 0);
  writeU64(bytes, offset + BlkHeaderOffset.SECTOR, h.sector);
}

/** Field offsets inside one 16-byte DISCARD / WRITE_ZEROES segment. */
export const BlkDwzOffset = { SECTOR: 0, NUM_SECTORS: 8, FLAGS: 12 } as const;

export interface BlkDwzSegment {
  sector: number;
  numSectors: number;
  /** Bit 0 is UNMAP (BLK_DWZ_FLAG_UNMAP); the other 31 bits are reserved. */
  flags: number;
}

export function decodeBlkDwzSegment(
  bytes: Uint8Array,
  offset = 0,
  out: BlkDwzSegment = { sector: 0, numSectors: 0, flags: 0 },
): BlkDwzSegment {
  checkRoom('virtio-blk discard/write-zeroes segment', bytes, offset, BLK_DWZ_SEGMENT_SIZE);
  out.sector = readU64(bytes, offset + BlkDwzOffset.SECTOR);
  out.numSectors = readU32(bytes, offset + BlkDwzOffset.NUM_SECTORS);
  out.flags = readU32(bytes, offset + BlkDwzOffset.FLAGS);
  return out;
}

export function encodeBlkDwzSegment(seg: BlkDwzSegment, bytes: Uint8Array, offset = 0): void {
  checkRoom('virtio-blk discard/write-zeroes segment', bytes, offset, BLK_DWZ_SEGMENT_SIZE);
  checkUint('segment.sector', seg.sector, U64_MAX_EXACT);
  checkUint('segment.numSectors', seg.numSectors, U32_MAX);
  checkUint('segment.flags', seg.flags, U32_MAX);
  writeU64(bytes, offset + BlkDwzOffset.SECTOR, seg.sector);
  writeU32(bytes, offset + BlkDwzOffset.NUM_SECTORS, seg.numSectors);
  writeU32(bytes, offset + BlkDwzOffset.FLAGS, seg.flags);
}

/**
 * The 20-byte GET_ID answer: printable ASCII, NUL-padded, no terminator when
 * the string fills all 20 bytes (spec §5.2.6). Throws on anything else, so a
 * serial that would be cut or mangled is caught where it is configured.
 */
export function encodeBlkId(serial: string): Uint8Array {
  const out = new Uint8Array(BLK_ID_BYTES);
  if (serial.length > BLK_ID_BYTES) {
    throw new RangeError(`serial "${serial}" is ${serial.length} bytes; at most ${BLK_ID_BYTES}`);
  }
  for (let i = 0; i < serial.length; i++) {
    const c = serial.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new RangeError(`serial "${serial}" has a non-printable-ASCII character at ${i}`);
    }
    out[i] = c;
  }
  return out;
}

/** The string in a GET_ID answer: bytes up to the first NUL (or all of them). */
export function decodeBlkId(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length && i < BLK_ID_BYTES && bytes[i] !== 0; i++) {
    s += String.fromCharCode(bytes[i]);
  }
  return s;
}
