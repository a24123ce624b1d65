// struct virtio_blk_config (VIRTIO 1.2 §5.2.4): what the driver reads at
// virtio-mmio offset 0x100 and up. Which fields mean something depends on the
// offered features (capacity always; num_queues with MQ; ...); the device
// still lays every field out, and writes zeros where it has nothing to say.
//
// The config ends with write_zeroes_may_unmap and unused1[3] (60 bytes): the
// secure-erase and zoned fields that VIRTIO 1.2 appends after it are for
// features pvkit never offers, so they are left out (config reads past the
// end return 0 in the register model, as they would on a device that has no
// such fields).

import {
  checkRoom,
  checkUint,
  readU16,
  readU32,
  readU64,
  U8_MAX,
  U16_MAX,
  U32_MAX,
  writeU16,
  writeU32,
  writeU64,
} from '../le.ts';
import { BLK_MAX_CAPACITY_SECTORS } from './constants.ts';

/** Byte offset of every field, nested structs flattened. */
export const BlkConfigOffset = {
  CAPACITY: 0,
  SIZE_MAX: 8,
  SEG_MAX: 12,
  GEOMETRY_CYLINDERS: 16,
  GEOMETRY_HEADS: 18,
  GEOMETRY_SECTORS: 19,
  BLK_SIZE: 20,
  TOPOLOGY_PHYSICAL_BLOCK_EXP: 24,
  TOPOLOGY_ALIGNMENT_OFFSET: 25,
  TOPOLOGY_MIN_IO_SIZE: 26,
  TOPOLOGY_OPT_IO_SIZE: 28,
  WRITEBACK: 32,
  UNUSED0: 33,
  NUM_QUEUES: 34,
  MAX_DISCARD_SECTORS: 36,
  MAX_DISCARD_SEG: 40,
  DISCARD_SECTOR_ALIGNMENT: 44,
  MAX_WRITE_ZEROES_SECTORS: 48,
  MAX_WRITE_ZEROES_SEG: 52,
  WRITE_ZEROES_MAY_UNMAP: 56,
  UNUSED1: 57,
} as const;

/** Size of the config space pvkit lays out (through unused1[3]). */
export const BLK_CONFIG_SIZE = 60;

export interface BlkGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

export interface BlkTopology {
  /** log2 of logical blocks per physical block. */
  physicalBlockExp: number;
  alignmentOffset: number;
  /** In logical blocks. */
  minIoSize: number;
  /** In logical blocks. */
  optIoSize: number;
}

export interface BlkConfig {
  /** In 512-byte sectors, always present. */
  capacity: number;
  sizeMax: number;
  segMax: number;
  geometry: BlkGeometry;
  blkSize: number;
  topology: BlkTopology;
  writeback: number;
  numQueues: number;
  maxDiscardSectors: number;
  maxDiscardSeg: number;
  discardSectorAlignment: number;
  maxWriteZeroesSectors: number;
  maxWriteZeroesSeg: number;
  writeZeroesMayUnmap: number;
}

/** A config with only a capacity: every optional field zero. */
export function blankBlkConfig(capacity: number): BlkConfig {
  return {
    capacity,
    sizeMax: 0,
    segMax: 0,
    geometry: { cylinders: 0, heads: 0, sectors: 0 },
    blkSize: 0,
    topology: { physicalBlockExp: 0, alignmentOffset: 0, minIoSize: 0, optIoSize: 0 },
    writeback: 0,
    numQueues: 0,
    maxDiscardSectors: 0,
    maxDiscardSeg: 0,
    discardSectorAlignment: 0,
    maxWriteZeroesSectors: 0,
    maxWriteZeroesSeg: 0,
    writeZeroesMayUnmap: 0,
  };
}

/**
 * Lay a config out in `out` (a fresh 60-byte array by default). Every field
 * is range-checked, so a value that would wrap is an error here rather than a
 * wrong number in the guest. Padding bytes are written as 0 (spec: MUST).
 */
export function encodeBlkConfig(
  cfg: BlkConfig,
  out: Uint8Array = new Uint8Array(BLK_CONFIG_SIZE),
  offset = 0,
): Uint8Array {
  checkRoom('virtio-blk config', out, offset, BLK_CONFIG_SIZE);
  const O = BlkConfigOffset;
  const { geometry: g, topology: t } = cfg;
  checkUint('capacity', cfg.capacity, BLK_MAX_CAPACITY_SECTORS - 1);
  checkUint('sizeMax', cfg.sizeMax, U32_MAX);
  checkUint('segMax', cfg.segMax, U32_MAX);
  checkUint('geometry.cylinders', g.cylinders, U16_MAX);
  checkUint('geometry.heads', g.heads, U8_MAX);
  checkUint('geometry.sectors', g.sectors, U8_MAX);
  checkUint('blkSize', cfg.blkSize, U32_MAX);
  checkUint('topology.physicalBlockExp', t.physicalBlockExp, U8_MAX);
  checkUint('topology.alignmentOffset', t.alignmentOffset, U8_MAX);
  checkUint('topology.minIoSize', t.minIoSize, U16_MAX);
  checkUint('topology.optIoSize', t.optIoSize, U32_MAX);
  checkUint('writeback', cfg.writeback, U8_MAX);
  checkUint('numQueues', cfg.numQueues, U16_MAX);
  checkUint('maxDiscardSectors', cfg.maxDiscardSectors, U32_MAX);
  checkUint('maxDiscardSeg', cfg.maxDiscardSeg, U32_MAX);
  checkUint('discardSectorAlignment', cfg.discardSectorAlignment, U32_MAX);
  checkUint('maxWriteZeroesSectors', cfg.maxWriteZeroesSectors, U32_MAX);
  checkUint('maxWriteZeroesSeg', cfg.maxWriteZeroesSeg, U32_MAX);
  checkUint('writeZeroesMayUnmap', cfg.writeZeroesMayUnmap, U8_MAX);
  const b = out;
  const at = (field: number) => offset + field;
  b.fill(0, offset, offset + BLK_CONFIG_SIZE);
  writeU64(b, at(O.CAPACITY), cfg.capacity);
  writeU32(b, at(O.SIZE_MAX), cfg.sizeMax);
  writeU32(b, at(O.SEG_MAX), cfg.segMax);
  writeU16(b, at(O.GEOMETRY_CYLINDERS), g.cylinders);
  b[at(O.GEOMETRY_HEADS)] = g.heads;
  b[at(O.GEOMETRY_SECTORS)] = g.sectors;
  writeU32(b, at(O.BLK_SIZE), cfg.blkSize);
  b[at(O.TOPOLOGY_PHYSICAL_BLOCK_EXP)] = t.physicalBlockExp;
  b[at(O.TOPOLOGY_ALIGNMENT_OFFSET)] = t.alignmentOffset;
  writeU16(b, at(O.TOPOLOGY_MIN_IO_SIZE), t.minIoSize);
  writeU32(b, at(O.TOPOLOGY_OPT_IO_SIZE), t.optIoSize);
  b[at(O.WRITEBACK)] = cfg.writeback;
  writeU16(b, at(O.NUM_QUEUES), cfg.numQueues);
  writeU32(b, at(O.MAX_DISCARD_SECTORS), cfg.maxDiscardSectors);
  writeU32(b, at(O.MAX_DISCARD_SEG), cfg.maxDiscardSeg);
  writeU32(b, at(O.DISCARD_SECTOR_ALIGNMENT), cfg.discardSectorAlignment);
  writeU32(b, at(O.MAX_WRITE_ZEROES_SECTORS), cfg.maxWriteZeroesSectors);
  writeU32(b, at(O.MAX_WRITE_ZEROES_SEG), cfg.maxWriteZeroesSeg);
  b[at(O.WRITE_ZEROES_MAY_UNMAP)] = cfg.writeZeroesMayUnmap;
  return out;
}

/** Read a config a device laid out (the driver's side). */
export function decodeBlkConfig(bytes: Uint8Array, offset = 0): BlkConfig {
  checkRoom('virtio-blk config', bytes, offset, BLK_CONFIG_SIZE);
  const O = BlkConfigOffset;
  const at = (field: number) => offset + field;
  return {
    capacity: readU64(bytes, at(O.CAPACITY)),
    sizeMax: readU32(bytes, at(O.SIZE_MAX)),
    segMax: readU32(bytes, at(O.SEG_MAX)),
    geometry: {
      cylinders: readU16(bytes, at(O.GEOMETRY_CYLINDERS)),
      heads: bytes[at(O.GEOMETRY_HEADS)],
      sectors: bytes[at(O.GEOMETRY_SECTORS)],
    },
    blkSize: readU32(bytes, at(O.BLK_SIZE)),
    topology: {
      physicalBlockExp: bytes[at(O.TOPOLOGY_PHYSICAL_BLOCK_EXP)],
      alignmentOffset: bytes[at(O.TOPOLOGY_ALIGNMENT_OFFSET)],
      minIoSize: readU16(bytes, at(O.TOPOLOGY_MIN_IO_SIZE)),
      optIoSize: readU32(bytes, at(O.TOPOLOGY_OPT_IO_SIZE)),
    },
    writeback: bytes[at(O.WRITEBACK)],
    numQueues: readU16(bytes, at(O.NUM_QUEUES)),
    maxDiscardSectors: readU32(bytes, at(O.MAX_DISCARD_SECTORS)),
    maxDiscardSeg: readU32(bytes, at(O.MAX_DISCARD_SEG)),
    discardSectorAlignment: readU32(bytes, at(O.DISCARD_SECTOR_ALIGNMENT)),
    maxWriteZeroesSectors: readU32(bytes, at(O.MAX_WRITE_ZEROES_SECTORS)),
    maxWriteZeroesSeg: readU32(bytes, at(O.MAX_WRITE_ZEROES_SEG)),
    writeZeroesMayUnmap: bytes[at(O.WRITE_ZEROES_MAY_UNMAP)],
  };
}
