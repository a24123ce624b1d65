// What a disk image is to the request executor: a byte-addressed store with
// a fixed size. Implementations throw on failure (an ImageError, or the
// host's own error with its errno `code`); the executor turns every throw
// into an IOERR status and a counter, so nothing escapes the request path.
import { BLK_SECTOR_SHIFT } from '@pvkit/virtio-ring';

export interface BlockImage {
  /** 'raw' (a host file) or 'memory' (a SharedArrayBuffer). */
  readonly kind: 'raw' | 'memory';
  readonly sizeBytes: number;
  /** sizeBytes / 512, rounded down: what the device reports as capacity. */
  readonly capacitySectors: number;
  readonly readOnly: boolean;
  /** Fill all of `view` from the image at byte `offset` (zeros past the end of a short file). */
  readInto(view: Uint8Array, offset: number): void;
  /** Store all of `view` at byte `offset`. */
  writeFrom(view: Uint8Array, offset: number): void;
  /** Make every completed write stable (fdatasync for files). */
  flush(): void;
  /** Forget a range; afterwards it reads as zeros (see the implementation for how). */
  discard(offset: number, length: number): void;
  /** Make a range read as zeros. */
  writeZeroes(offset: number, length: number): void;
  /** Release the host resources. Idempotent. */
  close(): void;
}

/** An image-level failure with an errno-style code, like the host's own errors. */
export class ImageError extends Error {
  declare readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ImageError';
    this.code = code;
  }
}

/**
 * The checks every image makes before touching storage, so that a bug in a
 * caller can never read or write outside the image or write a read-only one.
 */
export function checkImageRange(img: BlockImage, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    length > img.sizeBytes - offset
  ) {
    throw new ImageError(
      'ERANGE',
      `[${offset}, +${length}) is outside the ${img.sizeBytes}-byte image`,
    );
  }
}

export function checkWritable(img: BlockImage, what: string): void {
  if (img.readOnly) throw new ImageError('EROFS', `${what} on a read-only image`);
}

export function capacityOf(sizeBytes: number): number {
  return Math.floor(sizeBytes / 2 ** BLK_SECTOR_SHIFT);
}
