// A raw disk image: a host file whose byte N is the disk's byte N.
//
// Data moves with fs.readSync / fs.writeSync straight between the file and
// the caller's view, which on the data path is a view of the guest's
// SharedArrayBuffer: the kernel copies into guest pages, no bounce buffer.
//
// Node has no fallocate(PUNCH_HOLE) and no lseek(SEEK_DATA), so DISCARD
// cannot free blocks. It zero-fills instead, writing only the 64 KiB chunks
// that are not already zero: discarding a fresh sparse image (mkfs does this
// to the whole disk) reads holes and writes nothing, so it stays sparse.
// The "ftruncate down, ftruncate back up" trick would free a tail range, but
// a crash between the two calls leaves a shorter file, i.e. a disk whose
// capacity changed under the guest: not safe, so not used.
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import {
  type BlockImage,
  capacityOf,
  checkImageRange,
  checkWritable,
  ImageError,
} from './image.ts';

/** Granularity of the zero-fill scan: small enough to keep holes, big enough for few syscalls. */
const ZERO_CHUNK = 64 * 1024;

export class RawFileImage implements BlockImage {
  readonly kind = 'raw' as const;
  declare readonly path: string;
  declare readonly sizeBytes: number;
  declare readonly capacitySectors: number;
  declare readonly readOnly: boolean;
  declare private _fd: number;
  private scratch: Buffer | null = null;
  private zeros: Buffer | null = null;

  /** Open an existing file; its size is the disk's size. */
  static open(path: string, opts: { readOnly?: boolean } = {}): RawFileImage {
    const readOnly = opts.readOnly ?? false;
    const fd = openSync(path, readOnly ? 'r' : 'r+');
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new ImageError('EINVAL', `${path} is not a regular file`);
      return new RawFileImage(fd, path, st.size, readOnly);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /**
   * Create a new sparse file of `sizeBytes` (ftruncate: no block is written).
   * Never replaces an existing file (O_EXCL): creating must not lose data.
   */
  static create(path: string, sizeBytes: number): RawFileImage {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      throw new ImageError('EINVAL', `image size ${sizeBytes} is not a positive integer`);
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      ftruncateSync(fd, sizeBytes);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true }); // the file is ours and empty: leave nothing behind
      throw e;
    }
    return new RawFileImage(fd, path, sizeBytes, false);
  }

  /**
   * Serve an already open descriptor (this image owns it from now on). The
   * size defaults to the file's; give it for devices whose fstat size is 0.
   */
  static fromFd(
    fd: number,
    opts: { readOnly?: boolean; sizeBytes?: number; path?: string } = {},
  ): RawFileImage {
    const size = opts.sizeBytes ?? fstatSync(fd).size;
    return new RawFileImage(fd, opts.path ?? `fd:${fd}`, size, opts.readOnly ?? false);
  }

  private constructor(fd: number, path: string, sizeBytes: number, readOnly: boolean) {
    this._fd = fd;
    this.path = path;
    this.sizeBytes = sizeBytes;
    this.capacitySectors = capacityOf(sizeBytes);
    this.readOnly = readOnly;
  }

  /** The host descriptor, -1 once closed. */
  get fd(): number {
    return this._fd;
  }

  private liveFd(): number {
    if (this._fd < 0) throw new ImageError('EBADF', `${this.path} is closed`);
    return this._fd;
  }

  readInto(view: Uint8Array, offset: number): void {
    const fd = this.liveFd();
    checkImageRange(this, offset, view.length);
    let done = 0;
    while (done < view.length) {
      const n = readSync(fd, view, done, view.length - done, offset + done);
      if (n === 0) {
        // End of file before the end of the disk: a file shortened under us
        // reads as the hole it would be in a sparse file.
        view.fill(0, done);
        return;
      }
      done += n;
    }
  }

  writeFrom(view: Uint8Array, offset: number): void {
    const fd = this.liveFd();
    checkWritable(this, 'write');
    checkImageRange(this, offset, view.length);
    let done = 0;
    while (done < view.length) {
      const n = writeSync(fd, view, done, view.length - done, offset + done);
      // A write that makes no progress would loop forever; the host normally
      // throws ENOSPC/EIO instead, but do not rely on it.
      if (n <= 0) throw new ImageError('EIO', `write to ${this.path} made no progress`);
      done += n;
    }
  }

  flush(): void {
    const fd = this.liveFd();
    // A read-only image has nothing of ours to make stable.
    if (!this.readOnly) fdatasyncSync(fd);
  }

  discard(offset: number, length: number): void {
    checkWritable(this, 'discard');
    this.zeroFill(offset, length);
  }

  writeZeroes(offset: number, length: number): void {
    checkWritable(this, 'write zeroes');
    this.zeroFill(offset, length);
  }

  private zeroFill(offset: number, length: number): void {
    this.liveFd();
    checkImageRange(this, offset, length);
    const scratch = (this.scratch ??= Buffer.alloc(ZERO_CHUNK));
    const zeros = (this.zeros ??= Buffer.alloc(ZERO_CHUNK));
    for (let pos = offset, end = offset + length; pos < end; ) {
      const n = Math.min(ZERO_CHUNK, end - pos);
      const have = scratch.subarray(0, n);
      this.readInto(have, pos);
      // Holes and zeroed blocks stay as they are: no write, no allocation.
      if (!have.equals(zeros.subarray(0, n))) this.writeFrom(zeros.subarray(0, n), pos);
      pos += n;
    }
  }

  close(): void {
    const fd = this._fd;
    if (fd < 0) return;
    this._fd = -1;
    this.scratch = this.zeros = null;
    closeSync(fd);
  }
}
