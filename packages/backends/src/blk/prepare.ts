// Domain creation, file side: make sure every disk can be served before any
// worker starts (exists or is created, right size, openable the way it will
// be used), then hand workers a plain, postMessage-able description.

import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BLK_SECTOR_SIZE } from '@pvkit/virtio-ring';
import { DiskConfigError, type DiskSpec, MAX_DISK_BYTES } from './config.ts';
import type { BlockImage } from './image.ts';
import { MemoryImage } from './memory-image.ts';
import { RawFileImage } from './raw-image.ts';

/** A disk ready to serve: its size is known and its file exists. */
export interface PreparedDisk extends DiskSpec {
  sizeBytes: number;
  /** True when prepareDisk created the file (so a failed domain can remove it). */
  created: boolean;
  /** The store of a ":memory:" disk, shared by all of its queue workers. */
  memoryBuffer: SharedArrayBuffer | null;
}

function codeOf(e: unknown): string {
  return (e as { code?: unknown }).code?.toString() ?? 'EUNKNOWN';
}

/** Turn a host error on the image file into the one clear message. */
function fileError(spec: DiskSpec, e: unknown, doing: 'create' | 'open'): DiskConfigError {
  const key = `${spec.key}.path`;
  const code = codeOf(e);
  const dir = dirname(spec.path);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return doing === 'create'
        ? new DiskConfigError(
            key,
            `cannot create ${spec.path}: ${dir} is not an existing directory`,
            'expected a path in an existing directory',
          )
        : new DiskConfigError(
            key,
            `${spec.path} does not exist`,
            'expected an existing image file, or "create": true with a "size" to create it',
          );
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return doing === 'create'
        ? new DiskConfigError(
            key,
            `cannot create ${spec.path}: ${dir} is not writable (${code})`,
            'expected a directory this user can write',
          )
        : new DiskConfigError(
            key,
            `${spec.path} cannot be opened ${spec.readOnly ? 'for reading' : 'for writing'} (${code})`,
            spec.readOnly
              ? 'expected a file this user can read'
              : 'expected a file this user can write, or "readonly": true',
          );
    case 'EFBIG':
    case 'EINVAL':
      return new DiskConfigError(
        `${spec.key}.size`,
        `${spec.sizeBytes} bytes is more than the file system of ${dir} allows (${code})`,
        'expected a smaller size',
      );
    default:
      return new DiskConfigError(
        key,
        `cannot ${doing} ${spec.path}: ${e instanceof Error ? e.message : String(e)}`,
        'expected a usable image file',
      );
  }
}

/** Check (and with "create", make) one disk's image. Throws DiskConfigError. */
export function prepareDisk(spec: DiskSpec): PreparedDisk {
  if (spec.memory) {
    const size = spec.sizeBytes;
    if (size === null) {
      throw new DiskConfigError(`${spec.key}.size`, 'is missing', 'a ":memory:" disk needs a size');
    }
    return { ...spec, sizeBytes: size, created: false, memoryBuffer: new SharedArrayBuffer(size) };
  }
  const st = statSync(spec.path, { throwIfNoEntry: false });
  if (st === undefined) {
    if (!spec.create || spec.sizeBytes === null) throw fileError(spec, { code: 'ENOENT' }, 'open');
    try {
      RawFileImage.create(spec.path, spec.sizeBytes).close();
    } catch (e) {
      throw fileError(spec, e, 'create');
    }
    return { ...spec, sizeBytes: spec.sizeBytes, created: true, memoryBuffer: null };
  }
  const key = `${spec.key}.path`;
  if (!st.isFile()) {
    throw new DiskConfigError(
      key,
      `${spec.path} is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`,
      'expected a raw image file',
    );
  }
  // An existing file is never resized or replaced, "create" or not: a
  // mismatch is the user's to resolve, not data for us to cut or pad.
  if (st.size === 0 || st.size % BLK_SECTOR_SIZE !== 0 || st.size > MAX_DISK_BYTES) {
    throw new DiskConfigError(
      key,
      `${spec.path} is ${st.size} bytes`,
      `expected a raw image of whole 512-byte sectors, 512 bytes to ${MAX_DISK_BYTES}`,
    );
  }
  if (spec.sizeBytes !== null && spec.sizeBytes !== st.size) {
    throw new DiskConfigError(
      `${spec.key}.size`,
      `${spec.sizeBytes} bytes does not match the existing ${spec.path} (${st.size} bytes)`,
      'expected the file\'s size, or no "size" to use the file as it is',
    );
  }
  try {
    closeSync(openSync(spec.path, spec.readOnly ? 'r' : 'r+'));
  } catch (e) {
    throw fileError(spec, e, 'open');
  }
  return { ...spec, sizeBytes: st.size, created: false, memoryBuffer: null };
}

/**
 * Prepare every disk of a domain, or none: if one fails, the files created
 * for the others are removed again before the error is thrown.
 */
export function prepareDisks(specs: readonly DiskSpec[]): PreparedDisk[] {
  const done: PreparedDisk[] = [];
  try {
    for (const s of specs) done.push(prepareDisk(s));
    return done;
  } catch (e) {
    for (const d of done) if (d.created) rmSync(d.path, { force: true });
    throw e;
  }
}

/** Open a prepared disk's image (in the backend worker). */
export function openDiskImage(disk: PreparedDisk): BlockImage {
  if (disk.memory) {
    if (disk.memoryBuffer === null) throw new Error(`${disk.key}: memory disk without its buffer`);
    return new MemoryImage(disk.memoryBuffer, { readOnly: disk.readOnly });
  }
  const img = RawFileImage.open(disk.path, { readOnly: disk.readOnly });
  if (img.sizeBytes !== disk.sizeBytes) {
    img.close();
    throw new Error(
      `${disk.key}: ${disk.path} changed size since domain creation (${disk.sizeBytes} -> ${img.sizeBytes} bytes)`,
    );
  }
  return img;
}
