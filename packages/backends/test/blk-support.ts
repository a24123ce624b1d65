// Test stand-ins for what the ring package will hand the executor: a guest
// memory over a real SharedArrayBuffer, and a builder that lays requests out
// in it the way a driver would.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlkRequestType, encodeBlkDwzSegment, encodeBlkHeader } from '@pvkit/virtio-ring';
import { afterEach, beforeEach } from 'vitest';
import {
  BlkRequestExecutor,
  type BlockImage,
  blkDeviceConfig,
  type DescriptorChain,
  type GuestMemory,
  type Segment,
} from '../src/blk/index.ts';

/** Guest memory: bounds-checked views of one SharedArrayBuffer; onBytes sees every access. */
export class TestGuestMemory implements GuestMemory {
  readonly sab: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly size: number;
  onBytes: ((addr: number, len: number) => void) | null = null;
  private next = 0x1000;

  constructor(size = 1 << 20) {
    this.sab = new SharedArrayBuffer(size);
    this.u8 = new Uint8Array(this.sab);
    this.size = size;
  }

  bytes(addr: number | bigint, len: number): Uint8Array {
    const a = Number(addr);
    if (
      !Number.isSafeInteger(a) ||
      !Number.isSafeInteger(len) ||
      a < 0 ||
      len < 0 ||
      a + len > this.size
    ) {
      throw new RangeError(`guest range [${a}, +${len}) is outside ${this.size} bytes`);
    }
    this.onBytes?.(a, len);
    return new Uint8Array(this.sab, a, len);
  }

  /** Bump-allocate `n` bytes of guest memory (16-byte aligned), filled with `fill`. */
  alloc(n: number, fill = 0): number {
    const addr = this.next;
    this.next = (this.next + n + 15) & ~15;
    if (this.next > this.size) throw new Error('test guest memory exhausted');
    this.u8.fill(fill, addr, addr + n);
    return addr;
  }
}

/** Lays one request out in guest memory, descriptor by descriptor. */
export class RequestBuilder {
  readonly segs: Segment[] = [];
  readonly mem: TestGuestMemory;
  constructor(mem: TestGuestMemory) {
    this.mem = mem;
  }

  /** A readable descriptor holding `bytes`. */
  readable(bytes: Uint8Array): number {
    const addr = this.mem.alloc(bytes.length);
    this.mem.u8.set(bytes, addr);
    this.segs.push({ addr, len: bytes.length, writable: false });
    return addr;
  }

  /** A writable descriptor of n bytes, prefilled with 0xAA so untouched bytes show. */
  writable(n: number): number {
    const addr = this.mem.alloc(n, 0xaa);
    this.segs.push({ addr, len: n, writable: true });
    return addr;
  }

  header(type: number, sector: number): number {
    return this.readable(headerBytes(type, sector));
  }

  status(): number {
    return this.writable(1);
  }

  chain(head = 0): DescriptorChain {
    return chainOf(this.segs, head);
  }
}

export function chainOf(segments: Segment[], head = 0): DescriptorChain {
  let readableLen = 0;
  let writableLen = 0;
  for (const s of segments) {
    if (s.writable) writableLen += s.len;
    else readableLen += s.len;
  }
  return { head, segments, readableLen, writableLen };
}

export function headerBytes(type: number, sector: number): Uint8Array {
  const b = new Uint8Array(16);
  encodeBlkHeader({ type, sector }, b);
  return b;
}

export function dwzBytes(
  segs: { sector: number; numSectors: number; flags?: number }[],
): Uint8Array {
  const b = new Uint8Array(16 * segs.length);
  segs.forEach((s, i) => {
    encodeBlkDwzSegment(
      { sector: s.sector, numSectors: s.numSectors, flags: s.flags ?? 0 },
      b,
      i * 16,
    );
  });
  return b;
}

/** Deterministic non-zero bytes, so a read of the wrong place is visible. */
export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b[i] = (x & 0xff) | 1;
  }
  return b;
}

/**
 * A fresh temp directory per test, and images to close after it: both are
 * released in afterEach, whatever the test did.
 */
export function useScratch(): { readonly dir: string; keep<I extends BlockImage>(img: I): I } {
  let dir = '';
  const images: BlockImage[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvkit-blk-test-'));
  });
  afterEach(() => {
    for (const img of images.splice(0)) img.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    keep(img) {
      images.push(img);
      return img;
    },
  };
}

/**
 * Byte equality that stays fast on large arrays (vitest's deep equality walks
 * typed arrays element by element); a mismatch names the first differing byte.
 */
export function firstDiff(actual: Uint8Array, expected: Uint8Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  if (a.equals(expected)) return null;
  const i = a.findIndex((x, k) => x !== expected[k]);
  return `byte ${i}: ${actual[i]} != ${expected[i]}`;
}

/** The pieces an executor test needs: guest memory, an image, an executor on them. */
export interface BlkRig {
  mem: TestGuestMemory;
  image: BlockImage;
  ex: BlkRequestExecutor;
  req: () => RequestBuilder;
}

export function blkRig(
  image: BlockImage,
  opts: {
    ackedFeatures?: bigint;
    serial?: string;
    queueSize?: number;
    onHostError?: (e: unknown) => void;
  } = {},
): BlkRig {
  const mem = new TestGuestMemory(8 << 20);
  const config = blkDeviceConfig({ sizeBytes: image.sizeBytes, queues: 1 }, opts.queueSize ?? 128);
  const ex = new BlkRequestExecutor({
    image,
    config,
    serial: opts.serial ?? 'pvkit-test',
    ackedFeatures: opts.ackedFeatures,
    onHostError: opts.onHostError,
  });
  return { mem, image, ex, req: () => new RequestBuilder(mem) };
}

/** OUT of `data` at `sector`, the data split into descriptors of `split` bytes. */
export function writeSectors(rig: BlkRig, sector: number, data: Uint8Array, split = [data.length]) {
  const r = rig.req();
  r.header(BlkRequestType.OUT, sector);
  let off = 0;
  for (const n of split) {
    r.readable(data.subarray(off, off + n));
    off += n;
  }
  const status = r.status();
  const result = rig.ex.execute(rig.mem, r.chain());
  return { result, statusByte: rig.mem.u8[status] };
}

/** IN of `n` bytes at `sector` into descriptors of `split` bytes; returns what landed. */
export function readSectors(rig: BlkRig, sector: number, n: number, split = [n]) {
  const r = rig.req();
  r.header(BlkRequestType.IN, sector);
  const addrs = split.map((len) => [r.writable(len), len]);
  const status = r.status();
  const result = rig.ex.execute(rig.mem, r.chain());
  const data = new Uint8Array(n);
  let off = 0;
  for (const [a, len] of addrs) {
    data.set(rig.mem.u8.subarray(a, a + len), off);
    off += len;
  }
  return { result, data, statusByte: rig.mem.u8[status] };
}

/** A DISCARD or WRITE_ZEROES request with the given segments. */
export function dwzRequest(
  rig: BlkRig,
  type: number,
  segs: { sector: number; numSectors: number; flags?: number }[],
) {
  const r = rig.req();
  r.header(type, 0);
  r.readable(dwzBytes(segs));
  const status = r.status();
  const result = rig.ex.execute(rig.mem, r.chain());
  return { result, statusByte: rig.mem.u8[status] };
}
