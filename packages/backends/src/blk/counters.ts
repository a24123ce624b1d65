// Per-device counters: plain numbers in a fixed order, so the backend worker
// can mirror them into a SharedArrayBuffer the VMM reads without a message
// per request (docs/wiring.md, "Devices").

export const BLK_COUNTER_NAMES = [
  // requests seen, by type (failed ones included)
  'requestsIn',
  'requestsOut',
  'requestsFlush',
  'requestsGetId',
  'requestsDiscard',
  'requestsWriteZeroes',
  /** A type this device does not know: answered UNSUPP. */
  'requestsOther',
  // data moved between the image and guest memory
  'bytesRead',
  'bytesWritten',
  /** Sectors zeroed by DISCARD and WRITE_ZEROES. */
  'sectorsZeroed',
  // outcomes other than OK, by cause
  /** No header, no status byte, data in the wrong direction or of a bad length: len 0. */
  'errorsChain',
  /** A well-formed chain asking for something invalid (FLUSH sector != 0, limits exceeded). */
  'errorsRequest',
  /** Beyond capacity. */
  'errorsRange',
  /** A write-class request on a read-only disk. */
  'errorsReadOnly',
  /** The host failed (EIO, ENOSPC, EBADF...): IOERR. */
  'errorsHostIo',
  /** Every UNSUPP answer: unknown type, feature not negotiated, unknown flags. */
  'unsupported',
  /** IN/OUT requests whose data the I/O pool moved ("iothreads"; counted when they finish). */
  'pooled',
] as const;

export type BlkCounterName = (typeof BLK_COUNTER_NAMES)[number];
export type BlkCounters = Record<BlkCounterName, number>;

export function newBlkCounters(): BlkCounters {
  const c = {} as BlkCounters;
  for (const name of BLK_COUNTER_NAMES) c[name] = 0;
  return c;
}
