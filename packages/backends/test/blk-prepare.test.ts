import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  DiskConfigError,
  MemoryImage,
  openDiskImage,
  parseDiskConfig,
  parseDiskList,
  prepareDisk,
  prepareDisks,
  RawFileImage,
} from '../src/blk/index.ts';
import { useScratch } from './blk-support.ts';

const scratch = useScratch();

function prepare(raw: Record<string, unknown>) {
  return prepareDisk(parseDiskConfig(raw, { baseDir: scratch.dir }));
}

function prepareError(raw: Record<string, unknown>): DiskConfigError {
  try {
    prepare(raw);
  } catch (e) {
    if (e instanceof DiskConfigError) return e;
    throw e;
  }
  throw new Error('prepareDisk accepted a bad disk');
}

// Root ignores file modes, so as root the unwritable file and directory are
// sysfs ones (the kernel refuses them to everybody).
const root = process.getuid?.() === 0;
const SYSFS_RO_FILE = '/sys/kernel/uevent_seqnum';

describe('prepareDisk', () => {
  test('creates a missing file sparse, at the exact size, with almost no blocks', () => {
    const d = prepare({ path: 'new.img', size: '64M', create: true });
    expect(d).toMatchObject({
      path: join(scratch.dir, 'new.img'),
      sizeBytes: 64 << 20,
      created: true,
    });
    const st = statSync(d.path);
    expect(st.size).toBe(64 << 20);
    expect(st.blocks * 512).toBeLessThan(64 * 1024); // allocated, not 64 MiB
  });

  test('"create" on an existing file uses it as it is, never truncating it', () => {
    const p = join(scratch.dir, 'old.img');
    writeFileSync(p, Buffer.alloc(4096, 7));
    const d = prepare({ path: 'old.img', size: '4K', create: true });
    expect(d).toMatchObject({ sizeBytes: 4096, created: false });
    expect(readFileSync(p).every((b) => b === 7)).toBe(true);
  });

  test('an existing file without "size" serves at its own size', () => {
    writeFileSync(join(scratch.dir, 'a.img'), Buffer.alloc(8192));
    expect(prepare({ path: 'a.img' }).sizeBytes).toBe(8192);
  });

  test('a missing file without "create" is an error naming path', () => {
    const e = prepareError({ path: 'missing.img' });
    expect(e.key).toBe('disks[0].path');
    expect(e.message).toMatch(
      /missing.img does not exist; expected an existing image file, or "create": true/,
    );
  });

  test('a size that does not match the existing file is an error naming size', () => {
    const p = join(scratch.dir, 'a.img');
    writeFileSync(p, Buffer.alloc(8192, 1));
    const e = prepareError({ path: 'a.img', size: '1M', create: true });
    expect(e.key).toBe('disks[0].size');
    expect(e.message).toMatch(/1048576 bytes does not match the existing .*a.img \(8192 bytes\)/);
    expect(statSync(p).size).toBe(8192);
  });

  test.each([
    [0, /is 0 bytes/],
    [1000, /is 1000 bytes; expected a raw image of whole 512-byte sectors/],
  ])('an existing %d-byte file is refused', (size, why) => {
    writeFileSync(join(scratch.dir, 'odd.img'), Buffer.alloc(size));
    const e = prepareError({ path: 'odd.img' });
    expect(e.key).toBe('disks[0].path');
    expect(e.message).toMatch(why);
  });

  test('a directory is not an image', () => {
    mkdirSync(join(scratch.dir, 'sub'));
    expect(prepareError({ path: 'sub' }).message).toMatch(
      /is a directory; expected a raw image file/,
    );
  });

  test('creating in a directory that does not exist names path', () => {
    const e = prepareError({ path: 'no/such/dir/x.img', size: '1M', create: true });
    expect(e.key).toBe('disks[0].path');
    expect(e.message).toMatch(
      /cannot create .*x.img: .*no\/such\/dir is not an existing directory/,
    );
  });

  test('creating where the user may not write names path', () => {
    let target: string;
    if (root) {
      target = '/sys/pvkit-test.img';
    } else {
      mkdirSync(join(scratch.dir, 'ro'));
      chmodSync(join(scratch.dir, 'ro'), 0o555);
      target = join(scratch.dir, 'ro', 'x.img');
    }
    const e = prepareError({ path: target, size: '1M', create: true });
    expect(e.key).toBe('disks[0].path');
    expect(e.message).toMatch(
      /is not writable \((EACCES|EPERM|EROFS)\); expected a directory this user can write/,
    );
    expect(existsSync(target)).toBe(false);
  });

  test.skipIf(root && !existsSync(SYSFS_RO_FILE))(
    'an unwritable file is refused unless readonly',
    () => {
      let target = SYSFS_RO_FILE;
      if (!root) {
        target = join(scratch.dir, 'ro.img');
        writeFileSync(target, Buffer.alloc(4096));
        chmodSync(target, 0o444);
      }
      const e = prepareError({ path: target });
      expect(e.key).toBe('disks[0].path');
      expect(e.message).toMatch(
        /cannot be opened for writing \((EACCES|EPERM|EROFS)\); expected .* or "readonly": true/,
      );
      expect(prepare({ path: target, readonly: true }).readOnly).toBe(true);
    },
  );

  test('a memory disk gets a zeroed shared buffer of its size', () => {
    const d = prepare({ path: ':memory:', size: '64K' });
    expect(d.memoryBuffer).toBeInstanceOf(SharedArrayBuffer);
    expect(d.memoryBuffer?.byteLength).toBe(65536);
    const img = openDiskImage(d);
    expect(img).toBeInstanceOf(MemoryImage);
    expect(img.capacitySectors).toBe(128);
  });
});

describe('prepareDisks', () => {
  test('on failure removes the files it created for earlier disks', () => {
    const specs = parseDiskList(
      [{ path: 'made.img', size: '1M', create: true }, { path: 'missing.img' }],
      { baseDir: scratch.dir },
    );
    expect(() => prepareDisks(specs)).toThrow(/^disks\[1\]\.path: /);
    expect(existsSync(join(scratch.dir, 'made.img'))).toBe(false);
  });

  test('prepares every disk of a domain', () => {
    writeFileSync(join(scratch.dir, 'ro.img'), Buffer.alloc(1024));
    const specs = parseDiskList(
      [
        { path: 'a.img', size: '1M', create: true },
        { path: 'ro.img', readonly: true },
      ],
      { baseDir: scratch.dir },
    );
    expect(prepareDisks(specs).map((d) => [d.sizeBytes, d.readOnly])).toEqual([
      [1 << 20, false],
      [1024, true],
    ]);
  });
});

describe('openDiskImage', () => {
  test('opens the prepared file read-only when asked', () => {
    writeFileSync(join(scratch.dir, 'a.img'), Buffer.alloc(2048, 3));
    const img = openDiskImage(prepare({ path: 'a.img', readonly: true }));
    try {
      expect(img).toBeInstanceOf(RawFileImage);
      expect([img.readOnly, img.capacitySectors]).toEqual([true, 4]);
    } finally {
      img.close();
    }
  });

  test('refuses a file whose size changed since domain creation', () => {
    const p = join(scratch.dir, 'a.img');
    writeFileSync(p, Buffer.alloc(2048));
    const d = prepare({ path: 'a.img' });
    writeFileSync(p, Buffer.alloc(4096));
    expect(() => openDiskImage(d)).toThrow(
      /changed size since domain creation \(2048 -> 4096 bytes\)/,
    );
  });
});
