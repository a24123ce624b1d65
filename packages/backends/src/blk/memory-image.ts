// An image held in memory, for tests and throwaway disks (config path
// ":memory:"). It lives in a SharedArrayBuffer so that the same disk can be
// handed to every queue worker of a multi-queue device.
import {
  type BlockImage,
  capacityOf,
  checkImageRange,
  checkWritable,
  ImageError,
} from './image.ts';

/** Memory images are for tests and scratch disks; the cap keeps a typo from eating RAM. */
export const MAX_MEMORY_IMAGE_BYTES = 1024 ** 3;

export class MemoryImage implements BlockImage {
  readonly kind = 'memory' as const;
  declare readonly sizeBytes: number;
  declare readonly capacitySectors: number;
  declare readonly readOnly: boolean;
  /** The backing store; share it with other workers to serve the same disk. */
  declare readonly buffer: SharedArrayBuffer;
  declare private bytes: Uint8Array | null;

  /** A zero-filled image of `sizeBytes`. */
  static create(sizeBytes: number, opts: { readOnly?: boolean } = {}): MemoryImage {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > MAX_MEMORY_IMAGE_BYTES) {
      throw new ImageError(
        'EINVAL',
        `memory image size ${sizeBytes} is not in 0..${MAX_MEMORY_IMAGE_BYTES}`,
      );
    }
    return new MemoryImage(new SharedArrayBuffer(sizeBytes), opts);
  }

  /** Serve an existing buffer (the one another worker's MemoryImage holds). */
  constructor(buffer: SharedArrayBuffer, opts: { readOnly?: boolean } = {}) {
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.sizeBytes = buffer.byteLength;
    this.capacitySectors = capacityOf(buffer.byteLength);
    this.readOnly = opts.readOnly ?? false;
  }

  private open(): Uint8Array {
    if (this.bytes === null) throw new ImageError('EBADF', 'memory image is closed');
    return this.bytes;
  }

  readInto(view: Uint8Array, offset: number): void {
    const b = this.open();
    checkImageRange(this, offset, view.length);
    view.set(b.subarray(offset, offset + view.length));
  }

  writeFrom(view: Uint8Array, offset: number): void {
    const b = this.open();
    checkWritable(this, 'write');
    checkImageRange(this, offset, view.length);
    b.set(view, offset);
  }

  flush(): void {
    this.open();
  }

  discard(offset: number, length: number): void {
    this.writeZeroes(offset, length);
  }

  writeZeroes(offset: number, length: number): void {
    const b = this.open();
    checkWritable(this, 'write zeroes');
    checkImageRange(this, offset, length);
    b.fill(0, offset, offset + length);
  }

  close(): void {
    this.bytes = null;
  }
}
