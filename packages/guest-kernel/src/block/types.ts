// The contract between the block layer and a block driver (Linux's blk-mq
// ops, reduced): the layer hands the driver requests that already fit the
// device's limits; the driver puts them on a hardware queue if there is
// room, and calls done() from its interrupt path.

export type BlockOp = 'read' | 'write' | 'flush' | 'discard' | 'write-zeroes';

/** What the device accepts in one request (virtio-blk config space). */
export interface BlockLimits {
  /** Bytes in one data segment (size_max; 0 = no limit). */
  maxSegmentBytes: number;
  /** Data segments in one request (seg_max). */
  maxSegments: number;
  /** Sectors in one DISCARD / WRITE_ZEROES segment (0: not supported). */
  maxDiscardSectors: number;
  maxWriteZeroesSectors: number;
  flush: boolean;
}

/** One guest-physical data range of a request. */
export interface DataSegment {
  gpa: number;
  len: number;
}

/** A request as a driver sees it: within every limit of BlockLimits. */
export interface HwRequest {
  op: BlockOp;
  /** 512-byte sectors from the start of the disk. */
  sector: number;
  /** read / write: the data; discard / write-zeroes: one segment whose len is the range in bytes (gpa unused). */
  segments: DataSegment[];
  /** Called once by the driver, from the interrupt path (null: success). */
  done(error: BlockError | null): void;
}

export interface BlockDriver {
  /** "vda" */
  readonly name: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** GET_ID, read at probe. */
  readonly serial: string;
  readonly nrQueues: number;
  readonly limits: BlockLimits;
  /** Requests hardware queue q can still take now (a hint: queueRq may still find the ring full). */
  room(q: number): number;
  /** Put `rq` on hardware queue q and make it visible (publish, kick if asked); false: no room. */
  queueRq(q: number, rq: HwRequest): boolean;
  /** Set by the block layer: the driver calls it after completing requests (room freed). */
  onComplete: (() => void) | null;
}

/** Why a block request failed: the device's status, or the block layer's own check. */
export type BlockErrorKind =
  /** The device answered IOERR. */
  | 'io-error'
  /** The device answered UNSUPP. */
  | 'unsupported'
  /** The device is broken (needs a reset, or lied in its used ring): requests fail until it is reset. */
  | 'device-broken'
  /** Outside the disk, or not sector-aligned. */
  | 'out-of-range'
  /** A write-class request on a read-only disk. */
  | 'read-only'
  /** A buffer too small for the length asked. */
  | 'bad-buffer';

export class BlockError extends Error {
  declare readonly kind: BlockErrorKind;
  constructor(kind: BlockErrorKind, detail: string) {
    super(`${kind}: ${detail}`);
    this.name = 'BlockError';
    this.kind = kind;
  }
}
