import { describe, expect, test } from 'vitest';
import {
  DEFAULT_IOTHREADS,
  DiskConfigError,
  MAX_DISK_BYTES,
  MEMORY_PATH,
  parseDiskConfig,
  parseDiskList,
  parseSize,
} from '../src/blk/index.ts';

/** The error a bad entry raises: its key and its message. */
function errorOf(raw: unknown): { key: string; message: string } {
  try {
    parseDiskConfig(raw, { baseDir: '/images' });
  } catch (e) {
    if (!(e instanceof DiskConfigError)) throw e;
    return { key: e.key, message: e.message };
  }
  throw new Error(`no error for ${JSON.stringify(raw)}`);
}

describe('parseSize', () => {
  test.each([
    ['512', 512],
    ['64K', 65536],
    ['64k', 65536],
    ['1M', 1 << 20],
    ['1G', 1 << 30],
    ['1g', 1 << 30],
    ['2T', 2 * 1024 ** 4],
    [' 4K ', 4096],
    [1048576, 1048576],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text, 'k')).toBe(bytes);
  });

  test.each([
    ['1.5G', /is not a size/],
    ['1 G', /is not a size/],
    ['1GB', /is not a size/],
    ['1P', /is not a size/],
    ['-512', /is not a size/],
    ['', /is not a size/],
    ['0', /not greater than 0/],
    [0, /not greater than 0/],
    ['1000', /not a multiple of 512.*e\.g\. 1024/],
    [513, /not a multiple of 512/],
    ['2000T', /too large/],
    ['99999999999999999999G', /too large/],
    [2 ** 60, /too large/],
    [1.5, /is not a size/],
    [true, /\(boolean\) is not a size/],
  ])('%j is refused', (text, why) => {
    expect(() => parseSize(text, 'disks[3].size')).toThrow(why);
    expect(() => parseSize(text, 'disks[3].size')).toThrow(/^disks\[3\]\.size: /);
  });

  test('the limit itself is accepted', () => {
    expect(parseSize(MAX_DISK_BYTES, 'k')).toBe(2 ** 50);
    expect(parseSize('1024T', 'k')).toBe(2 ** 50);
  });
});

describe('parseDiskConfig', () => {
  test('fills defaults and resolves a relative path against the config directory', () => {
    expect(parseDiskConfig({ path: 'disk.img' }, { index: 2, baseDir: '/images' })).toEqual({
      key: 'disks[2]',
      path: '/images/disk.img',
      memory: false,
      sizeBytes: null,
      create: false,
      readOnly: false,
      queues: 1,
      iothreads: DEFAULT_IOTHREADS,
      serial: 'pvkit-2',
      notify: 'doorbell',
    });
  });

  test('takes every option the issue lists', () => {
    const d = parseDiskConfig({
      path: '/data/disk.img',
      size: '1G',
      create: true,
      readonly: false,
      queues: 4,
      iothreads: 2,
      serial: 'abcdefghijklmnopqrst',
      notify: 'hypercall',
    });
    expect(d).toMatchObject({
      path: '/data/disk.img',
      sizeBytes: 1 << 30,
      create: true,
      queues: 4,
      iothreads: 2,
    });
    expect(d).toMatchObject({ serial: 'abcdefghijklmnopqrst', notify: 'hypercall' });
  });

  test('":memory:" is a memory disk that needs a size', () => {
    const d = parseDiskConfig({ path: MEMORY_PATH, size: '1M', readonly: true });
    expect(d).toMatchObject({ path: ':memory:', memory: true, sizeBytes: 1 << 20, readOnly: true });
  });

  test.each<[string, unknown, string, RegExp]>([
    ['not an object', 'disk.img', 'disks[0]', /is not an object; expected an object like/],
    ['an array', [], 'disks[0]', /is not an object/],
    [
      'an unknown key',
      { path: 'a', redonly: true },
      'disks[0].redonly',
      /is not a disk option; expected one of path, size/,
    ],
    ['no path', { size: '1G' }, 'disks[0].path', /is missing; expected the image file/],
    ['an empty path', { path: '' }, 'disks[0].path', /is not a file path/],
    ['a non-string path', { path: 7 }, 'disks[0].path', /7 is not a file path/],
    ['a bad size', { path: 'a', size: '1.5G' }, 'disks[0].size', /"1.5G" is not a size; expected/],
    ['an unaligned size', { path: 'a', size: 1000 }, 'disks[0].size', /not a multiple of 512/],
    [
      'create without a size',
      { path: 'a', create: true },
      'disks[0].size',
      /is missing; "create": true needs the size/,
    ],
    [
      'memory without a size',
      { path: ':memory:' },
      'disks[0].size',
      /is missing; a ":memory:" disk needs/,
    ],
    ['a memory disk over 1 GiB', { path: ':memory:', size: '2G' }, 'disks[0].size', /too large/],
    [
      'create with readonly',
      { path: 'a', size: '1G', create: true, readonly: true },
      'disks[0].create',
      /blank disk nobody can write; expected "create": false/,
    ],
    [
      'create as a string',
      { path: 'a', create: 'yes' },
      'disks[0].create',
      /"yes" is not a boolean; expected true or false/,
    ],
    ['readonly as a number', { path: 'a', readonly: 1 }, 'disks[0].readonly', /is not a boolean/],
    [
      'zero queues',
      { path: 'a', queues: 0 },
      'disks[0].queues',
      /0 is not a queue count; expected an integer from 1 to 16/,
    ],
    ['17 queues', { path: 'a', queues: 17 }, 'disks[0].queues', /17 is not a queue count/],
    [
      '9 iothreads',
      { path: 'a', iothreads: 9 },
      'disks[0].iothreads',
      /9 is not a thread count; expected an integer from 0 \(the queue's own thread copies\) to 8/,
    ],
    [
      'negative iothreads',
      { path: 'a', iothreads: -1 },
      'disks[0].iothreads',
      /-1 is not a thread/,
    ],
    [
      'iothreads as a string',
      { path: 'a', iothreads: '2' },
      'disks[0].iothreads',
      /"2" is not a thread/,
    ],
    [
      'fractional queues',
      { path: 'a', queues: 1.5 },
      'disks[0].queues',
      /1.5 is not a queue count/,
    ],
    [
      'queues as a string',
      { path: 'a', queues: '2' },
      'disks[0].queues',
      /"2" is not a queue count/,
    ],
    [
      'a 21-byte serial',
      { path: 'a', serial: 'abcdefghijklmnopqrstu' },
      'disks[0].serial',
      /is 21 bytes; expected at most 20/,
    ],
    [
      'a non-ASCII serial',
      { path: 'a', serial: 'disk-\u00e9' },
      'disks[0].serial',
      /not printable ASCII/,
    ],
    [
      'a serial with a NUL',
      { path: 'a', serial: 'a\0b' },
      'disks[0].serial',
      /not printable ASCII/,
    ],
    ['a numeric serial', { path: 'a', serial: 42 }, 'disks[0].serial', /42 is not a string/],
    [
      'an unknown notify mode',
      { path: 'a', notify: 'irq' },
      'disks[0].notify',
      /"irq" is not a notify mode; expected "doorbell"/,
    ],
  ])('%s is one clear error naming the key', (_what, raw, key, message) => {
    const e = errorOf(raw);
    expect(e.key).toBe(key);
    expect(e.message.startsWith(`${key}: `)).toBe(true);
    expect(e.message).toMatch(message);
  });
});

describe('parseDiskList', () => {
  test('names each entry by its index and gives serials pvkit-0, pvkit-1, ...', () => {
    const disks = parseDiskList([{ path: 'a.img' }, { path: ':memory:', size: '1M' }], {
      baseDir: '/x',
    });
    expect(disks.map((d) => [d.key, d.path, d.serial])).toEqual([
      ['disks[0]', '/x/a.img', 'pvkit-0'],
      ['disks[1]', ':memory:', 'pvkit-1'],
    ]);
  });

  test('an error names the entry it is in', () => {
    expect(() => parseDiskList([{ path: 'a' }, { path: 'b', queues: 99 }])).toThrow(
      /^disks\[1\]\.queues: /,
    );
  });

  test('refuses one file served twice unless both are read-only', () => {
    expect(() =>
      parseDiskList([{ path: '/d/a.img' }, { path: '/d/../d/a.img', readonly: true }]),
    ).toThrow(/^disks\[1\]\.path: \/d\/a.img is also disks\[0\]\.path/);
    const ro = parseDiskList([
      { path: '/d/a.img', readonly: true },
      { path: '/d/a.img', readonly: true },
    ]);
    expect(ro).toHaveLength(2);
    expect(
      parseDiskList([
        { path: ':memory:', size: 512 },
        { path: ':memory:', size: 512 },
      ]),
    ).toHaveLength(2);
  });

  test('refuses a non-list', () => {
    expect(() => parseDiskList({ path: 'a' })).toThrow(/^disks: .* is not a list; expected a list/);
  });
});
