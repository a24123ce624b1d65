import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type BlockImage, ImageError, MemoryImage, RawFileImage } from '../src/blk/index.ts';
import { firstDiff, pattern, useScratch } from './blk-support.ts';

const scratch = useScratch();

/** A view into a SharedArrayBuffer at an odd offset, as guest pages would be. */
function sharedView(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n + 64), 24, n);
}

const kinds: [string, (size: number) => BlockImage][] = [
  ['raw file', (size) => scratch.keep(RawFileImage.create(join(scratch.dir, 'disk.img'), size))],
  ['memory', (size) => scratch.keep(MemoryImage.create(size))],
];

describe.each(kinds)('%s image', (_kind, make) => {
  test('reports its size and capacity in sectors', () => {
    const img = make(1 << 20);
    expect([img.sizeBytes, img.capacitySectors, img.readOnly]).toEqual([1 << 20, 2048, false]);
  });

  test('reads back what was written, straight from and into shared views', () => {
    const img = make(1 << 20);
    const data = pattern(12288, 1);
    const src = sharedView(data.length);
    src.set(data);
    img.writeFrom(src, 4096);
    const dst = sharedView(data.length);
    img.readInto(dst, 4096);
    expect(firstDiff(dst, data)).toBeNull();
    const fresh = sharedView(512);
    img.readInto(fresh, 0);
    expect(fresh.every((b) => b === 0)).toBe(true);
  });

  test('discard and writeZeroes leave zeros, and only in their range', () => {
    const img = make(1 << 20);
    const data = pattern(256 * 1024, 2);
    img.writeFrom(data, 0);
    img.discard(512, 70_000 - (70_000 % 512));
    img.writeZeroes(200_704, 4096);
    const back = new Uint8Array(data.length);
    img.readInto(back, 0);
    const want = data.slice();
    want.fill(0, 512, 512 + 70_000 - (70_000 % 512));
    want.fill(0, 200_704, 200_704 + 4096);
    expect(firstDiff(back, want)).toBeNull();
  });

  test('refuses ranges outside the image', () => {
    const img = make(4096);
    expect(() => img.readInto(new Uint8Array(512), 3841)).toThrow(/ERANGE/);
    expect(() => img.writeFrom(new Uint8Array(1), 4096)).toThrow(ImageError);
    expect(() => img.writeZeroes(-512, 512)).toThrow(/ERANGE/);
  });

  test('close is idempotent and later I/O fails with EBADF', () => {
    const img = make(4096);
    img.close();
    img.close();
    expect(() => img.readInto(new Uint8Array(512), 0)).toThrow(/EBADF/);
  });
});

describe('raw file image', () => {
  test('create makes a sparse file of the exact size, using few blocks', () => {
    const p = join(scratch.dir, 'sparse.img');
    scratch.keep(RawFileImage.create(p, 256 << 20));
    const st = statSync(p);
    expect(st.size).toBe(256 << 20);
    expect(st.blocks * 512).toBeLessThan(64 * 1024);
  });

  test('create never replaces an existing file', () => {
    const p = join(scratch.dir, 'keep.img');
    writeFileSync(p, 'precious');
    expect(() => RawFileImage.create(p, 4096)).toThrow(/EEXIST/);
    expect(readFileSync(p, 'utf8')).toBe('precious');
  });

  test('read-only images reject writes, discards and zeroing, and the file is untouched', () => {
    const p = join(scratch.dir, 'ro.img');
    writeFileSync(p, Buffer.alloc(4096, 9));
    const img = scratch.keep(RawFileImage.open(p, { readOnly: true }));
    expect(img.readOnly).toBe(true);
    expect(() => img.writeFrom(new Uint8Array(512), 0)).toThrow(/EROFS/);
    expect(() => img.discard(0, 512)).toThrow(/EROFS/);
    expect(() => img.writeZeroes(0, 512)).toThrow(/EROFS/);
    img.flush(); // nothing to make stable: fine
    expect(readFileSync(p).every((b) => b === 9)).toBe(true);
  });

  test('discarding a fresh sparse image writes nothing, so it stays sparse', () => {
    const p = join(scratch.dir, 'd.img');
    const img = scratch.keep(RawFileImage.create(p, 64 << 20));
    img.discard(0, 64 << 20);
    img.writeZeroes(0, 64 << 20);
    img.flush();
    expect(statSync(p).blocks * 512).toBeLessThan(64 * 1024);
  });

  test('reads past the end of a file shortened under it return zeros', () => {
    const p = join(scratch.dir, 'short.img');
    const img = scratch.keep(RawFileImage.create(p, 8192));
    img.writeFrom(new Uint8Array(8192).fill(5), 0);
    const fd = openSync(p, 'r+');
    ftruncateSync(fd, 5000);
    closeSync(fd);
    const back = new Uint8Array(4096).fill(0xee);
    img.readInto(back, 4096);
    expect(back.subarray(0, 904).every((b) => b === 5)).toBe(true);
    expect(back.subarray(904).every((b) => b === 0)).toBe(true);
  });

  test('flush is fdatasync and succeeds on a writable file', () => {
    const img = scratch.keep(RawFileImage.create(join(scratch.dir, 'f.img'), 4096));
    img.writeFrom(new Uint8Array(512).fill(1), 0);
    expect(() => img.flush()).not.toThrow();
  });

  test('host errors come out as errors with the errno code (ENOSPC from /dev/full)', () => {
    const img = scratch.keep(
      RawFileImage.fromFd(openSync('/dev/full', 'r+'), { sizeBytes: 1 << 20 }),
    );
    expect(img.capacitySectors).toBe(2048);
    expect(() => img.writeFrom(new Uint8Array(512), 0)).toThrow(
      expect.objectContaining({ code: 'ENOSPC' }),
    );
  });

  test('open refuses what is not a regular file', () => {
    expect(() => RawFileImage.open(scratch.dir)).toThrow(/EISDIR|not a regular file/);
  });
});

describe('memory image', () => {
  test('two images over one buffer see each other (one disk, several queue workers)', () => {
    const a = MemoryImage.create(4096);
    const b = new MemoryImage(a.buffer, { readOnly: true });
    a.writeFrom(new Uint8Array(512).fill(4), 512);
    const back = new Uint8Array(512);
    b.readInto(back, 512);
    expect(back.every((x) => x === 4)).toBe(true);
    expect(() => b.writeFrom(back, 0)).toThrow(/EROFS/);
  });

  test('refuses sizes past its cap', () => {
    expect(() => MemoryImage.create(2 ** 31)).toThrow(/EINVAL/);
  });
});
