// virtio-blk wire constants (VIRTIO 1.2 §5.2, Linux include/uapi/linux/virtio_blk.h).
// This file is the one place these numbers are written: drivers, devices and
// tests import them from here.

/** Device ID of a block device in the virtio-mmio DeviceID register. */
export const VIRTIO_ID_BLOCK = 2;

/** Device feature bit numbers (not masks: features are 64-bit, see blkFeatureMask). */
export const BlkFeature = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;
export type BlkFeatureBit = (typeof BlkFeature)[keyof typeof BlkFeature];

/**
 * A feature bit as a 64-bit mask. Feature words exceed 32 bits (VERSION_1 is
 * bit 32), so masks are bigint: a `number` bit-op would silently truncate.
 */
export function blkFeatureMask(bit: number): bigint {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63) {
    throw new RangeError(`feature bit ${bit} is not in 0..63`);
  }
  return 1n << BigInt(bit);
}

/** Request types (the `type` field of the request header). */
export const BlkRequestType = {
  IN: 0,
  OUT: 1,
  FLUSH: 4,
  GET_ID: 8,
  DISCARD: 11,
  WRITE_ZEROES: 13,
} as const;
export type BlkRequestTypeValue = (typeof BlkRequestType)[keyof typeof BlkRequestType];

/** Values of the status byte the device writes last. */
export const BlkStatus = {
  OK: 0,
  IOERR: 1,
  UNSUPP: 2,
} as const;
export type BlkStatusValue = (typeof BlkStatus)[keyof typeof BlkStatus];

/** Sectors in the protocol are always 512 bytes, whatever blk_size says. */
export const BLK_SECTOR_SIZE = 512;
export const BLK_SECTOR_SHIFT = 9;

/** GET_ID answers with a NUL-padded ASCII string of exactly this many bytes. */
export const BLK_ID_BYTES = 20;

/** Request header {type u32, reserved u32, sector u64}: the first readable bytes. */
export const BLK_REQ_HEADER_SIZE = 16;
/** The status byte: the last writable byte of a request. */
export const BLK_STATUS_SIZE = 1;
/** One DISCARD / WRITE_ZEROES segment {sector u64, num_sectors u32, flags u32}. */
export const BLK_DWZ_SEGMENT_SIZE = 16;
/** `flags` bit 0 of a segment: the device may deallocate (WRITE_ZEROES only). */
export const BLK_DWZ_FLAG_UNMAP = 1;

/**
 * The largest capacity, in sectors, whose byte size is still an exact JS
 * number (2^53 bytes). Decoders return sectors as numbers; anything at or
 * above this is past every disk this library can describe.
 */
export const BLK_MAX_CAPACITY_SECTORS = 2 ** (53 - BLK_SECTOR_SHIFT);
