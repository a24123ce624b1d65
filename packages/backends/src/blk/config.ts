// A domain's `"disks": [...]` entries, parsed and checked without touching
// the file system (prepare.ts does the file checks). Every mistake is one
// DiskConfigError naming the key, what is wrong and what would be right, so
// that a domain with a bad disk fails at creation, before any worker starts.

import { resolve } from 'node:path';
import { BLK_ID_BYTES, BLK_SECTOR_SIZE } from '@pvkit/virtio-ring';
import { MAX_MEMORY_IMAGE_BYTES } from './memory-image.ts';

/** `"path": ":memory:"` serves a zero-filled disk held in memory (tests, scratch). */
export const MEMORY_PATH = ':memory:';
/** 1 PiB: far beyond any test, and every byte offset stays an exact JS number. */
export const MAX_DISK_BYTES = 2 ** 50;
export const MAX_DISK_QUEUES = 16;
/** I/O helper threads per queue ("iothreads"): 0 = the queue's own thread copies. */
export const MAX_IOTHREADS = 8;
export const DEFAULT_IOTHREADS = 0;

export type NotifyMode = 'doorbell' | 'hypercall';

/** A disk entry after parsing: every default filled in, paths absolute. */
export interface DiskSpec {
  /** Where it came from, e.g. "disks[1]": later errors name it. */
  key: string;
  /** Absolute path, or MEMORY_PATH. */
  path: string;
  memory: boolean;
  /** From "size"; null means "the existing file's size". */
  sizeBytes: number | null;
  create: boolean;
  readOnly: boolean;
  queues: number;
  /** Copying threads per queue besides its own (io-pool.ts); file images only. */
  iothreads: number;
  serial: string;
  notify: NotifyMode;
}

export class DiskConfigError extends Error {
  /** The offending key, e.g. "disks[0].size". */
  declare readonly key: string;
  constructor(key: string, problem: string, expected: string) {
    super(`${key}: ${problem}; ${expected}`);
    this.name = 'DiskConfigError';
    this.key = key;
  }
}

const KEYS = ['path', 'size', 'create', 'readonly', 'queues', 'iothreads', 'serial', 'notify'];
const SUFFIX: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const SIZE_FORM =
  'expected a number of bytes, optionally with a binary suffix K, M, G or T (e.g. "512", "64K", "1G"), a multiple of 512';

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * Parse a disk size: a JSON integer of bytes, or a string "<digits>[K|M|G|T]"
 * (binary units, case-insensitive). It must be > 0, a multiple of 512 and at
 * most `max`.
 */
export function parseSize(value: unknown, key: string, max = MAX_DISK_BYTES): number {
  let bytes: number;
  if (typeof value === 'number') {
    // Integers past 2^53 fall through to "too large" below, the truer message.
    if (!Number.isInteger(value))
      throw new DiskConfigError(key, `${value} is not a size`, SIZE_FORM);
    bytes = value;
  } else if (typeof value === 'string') {
    const m = /^([0-9]+)([kmgtKMGT]?)$/.exec(value.trim());
    if (!m) throw new DiskConfigError(key, `${show(value)} is not a size`, SIZE_FORM);
    const digits = Number(m[1]);
    const unit = SUFFIX[m[2].toUpperCase()];
    // Checked before multiplying so that a huge number cannot round to a valid one.
    if (!Number.isSafeInteger(digits) || digits > max / unit) {
      throw new DiskConfigError(
        key,
        `${show(value)} is too large`,
        `expected at most ${max} bytes (1 PiB)`,
      );
    }
    bytes = digits * unit;
  } else {
    throw new DiskConfigError(key, `${show(value)} (${typeof value}) is not a size`, SIZE_FORM);
  }
  if (bytes <= 0) throw new DiskConfigError(key, `${show(value)} is not greater than 0`, SIZE_FORM);
  if (bytes > max)
    throw new DiskConfigError(key, `${show(value)} is too large`, `expected at most ${max} bytes`);
  if (bytes % BLK_SECTOR_SIZE !== 0) {
    throw new DiskConfigError(
      key,
      `${show(value)} (${bytes} bytes) is not a multiple of ${BLK_SECTOR_SIZE}`,
      `expected whole 512-byte sectors, e.g. ${Math.ceil(bytes / BLK_SECTOR_SIZE) * BLK_SECTOR_SIZE}`,
    );
  }
  return bytes;
}

function bool(o: Record<string, unknown>, k: string, key: string): boolean {
  const v = o[k];
  if (v === undefined) return false;
  if (typeof v !== 'boolean')
    throw new DiskConfigError(
      `${key}.${k}`,
      `${show(v)} is not a boolean`,
      'expected true or false',
    );
  return v;
}

function serialOf(v: unknown, key: string): string {
  const expected = `expected at most ${BLK_ID_BYTES} characters of printable ASCII (the GET_ID string), e.g. "pvkit-0"`;
  if (typeof v !== 'string') throw new DiskConfigError(key, `${show(v)} is not a string`, expected);
  if (!/^[\x20-\x7e]*$/.test(v))
    throw new DiskConfigError(key, `${show(v)} is not printable ASCII`, expected);
  if (v.length > BLK_ID_BYTES)
    throw new DiskConfigError(key, `${show(v)} is ${v.length} bytes`, expected);
  return v;
}

/**
 * Parse one disk entry. `index` names it ("disks[index]") and gives the
 * default serial "pvkit-<index>"; relative paths resolve against `baseDir`
 * (the directory of the domain config; the working directory by default).
 */
export function parseDiskConfig(
  raw: unknown,
  opts: { index?: number; baseDir?: string } = {},
): DiskSpec {
  const index = opts.index ?? 0;
  const key = `disks[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new DiskConfigError(
      key,
      `${show(raw)} is not an object`,
      'expected an object like { "path": "disk.img", "size": "1G", "create": true }',
    );
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k))
      throw new DiskConfigError(
        `${key}.${k}`,
        'is not a disk option',
        `expected one of ${KEYS.join(', ')}`,
      );
  }
  const p = o.path;
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new DiskConfigError(
      `${key}.path`,
      p === undefined ? 'is missing' : `${show(p)} is not a file path`,
      `expected the image file, e.g. "disk.img", or "${MEMORY_PATH}" for a disk in memory`,
    );
  }
  const memory = p === MEMORY_PATH;
  const create = bool(o, 'create', key);
  const readOnly = bool(o, 'readonly', key);
  const sizeBytes =
    o.size === undefined
      ? null
      : parseSize(o.size, `${key}.size`, memory ? MAX_MEMORY_IMAGE_BYTES : MAX_DISK_BYTES);
  if (sizeBytes === null && (memory || create)) {
    throw new DiskConfigError(
      `${key}.size`,
      'is missing',
      `${memory ? `a "${MEMORY_PATH}" disk` : '"create": true'} needs the size of the new disk, e.g. "size": "1G"`,
    );
  }
  if (create && readOnly && !memory) {
    throw new DiskConfigError(
      `${key}.create`,
      'true together with "readonly": true would make a blank disk nobody can write',
      'expected "create": false for a read-only disk, or "readonly": false to create one',
    );
  }
  const q = o.queues ?? 1;
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > MAX_DISK_QUEUES) {
    throw new DiskConfigError(
      `${key}.queues`,
      `${show(q)} is not a queue count`,
      `expected an integer from 1 to ${MAX_DISK_QUEUES}`,
    );
  }
  const io = o.iothreads ?? DEFAULT_IOTHREADS;
  if (typeof io !== 'number' || !Number.isInteger(io) || io < 0 || io > MAX_IOTHREADS) {
    throw new DiskConfigError(
      `${key}.iothreads`,
      `${show(io)} is not a thread count`,
      `expected an integer from 0 (the queue's own thread copies) to ${MAX_IOTHREADS}`,
    );
  }
  const notify = o.notify ?? 'doorbell';
  if (notify !== 'doorbell' && notify !== 'hypercall') {
    throw new DiskConfigError(
      `${key}.notify`,
      `${show(notify)} is not a notify mode`,
      'expected "doorbell" (the default) or "hypercall"',
    );
  }
  return {
    key,
    path: memory ? MEMORY_PATH : resolve(opts.baseDir ?? process.cwd(), p),
    memory,
    sizeBytes,
    create,
    readOnly,
    queues: q,
    iothreads: io,
    serial: o.serial === undefined ? `pvkit-${index}` : serialOf(o.serial, `${key}.serial`),
    notify,
  };
}

/** Parse a domain's whole "disks" list; one file served writable twice is refused. */
export function parseDiskList(raw: unknown, opts: { baseDir?: string } = {}): DiskSpec[] {
  if (!Array.isArray(raw)) {
    throw new DiskConfigError(
      'disks',
      `${show(raw)} is not a list`,
      'expected a list of disk objects, e.g. [ { "path": "disk.img" } ]',
    );
  }
  const disks = raw.map((d, index) => parseDiskConfig(d, { index, baseDir: opts.baseDir }));
  for (let j = 0; j < disks.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = disks[i];
      const b = disks[j];
      if (!b.memory && a.path === b.path && !(a.readOnly && b.readOnly)) {
        throw new DiskConfigError(
          `${b.key}.path`,
          `${b.path} is also ${a.key}.path: two disks writing one file corrupt it`,
          'expected a different file, or "readonly": true on both',
        );
      }
    }
  }
  return disks;
}
