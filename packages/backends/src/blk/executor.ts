// One virtio-blk request, start to finish: take a chain the ring has
// validated, read the request out of guest memory, do it on the image, write
// the status byte, and say how many bytes the device wrote (used.len).
//
// Layout (VIRTIO 1.x has no framing rules, as QEMU also reads it): the
// header is the first 16 readable bytes, wherever the descriptors split
// them; the status is the last writable byte, whether it has a descriptor of
// its own (Linux) or ends a data descriptor. Data is everything in between:
// readable bytes after the header (OUT, DISCARD, WRITE_ZEROES), writable
// bytes before the status (IN, GET_ID).
//
// Guest memory is hostile: the header and the DISCARD / WRITE_ZEROES segment
// list are copied out once and only the copies are validated and used (no
// double fetch); every data view is resolved before any I/O starts, so a bad
// address fails the request before anything is read or written.
//
// used.len follows the spec's rule (the device wrote at least len bytes from
// the start of the writable area): data + status when the data was written,
// 1 when the status is the only writable byte, else 0. A malformed chain
// always completes with len 0 (docs: reference/virtio.md).
import {
  BLK_DWZ_FLAG_UNMAP,
  BLK_DWZ_SEGMENT_SIZE,
  BLK_ID_BYTES,
  BLK_REQ_HEADER_SIZE,
  BLK_SECTOR_SIZE,
  type BlkConfig,
  BlkFeature,
  BlkRequestType,
  BlkStatus,
  type BlkStatusValue,
  blkFeatureMask,
  decodeBlkDwzSegment,
  decodeBlkHeader,
  encodeBlkId,
} from '@pvkit/virtio-ring';
import { PENDING_LEN } from '../virtio/serve.ts';
import type { BlkOffload, DescriptorChain, GuestMemory, Segment } from './chain.ts';
import { type BlkCounterName, type BlkCounters, newBlkCounters } from './counters.ts';
import type { BlockImage } from './image.ts';

export interface BlkResult {
  /** The status byte written, or null when the chain had no writable status byte. */
  status: BlkStatusValue | null;
  /** For the used ring. */
  len: number;
}

export interface BlkExecutorOptions {
  image: BlockImage;
  /** The config the guest was offered: its limits are enforced here. */
  config: BlkConfig;
  /** GET_ID answer: printable ASCII, at most 20 bytes. */
  serial: string;
  /** Negotiated features; DISCARD and WRITE_ZEROES need their bit. Default: both allowed. */
  ackedFeatures?: bigint;
  /** Share one set across a device's queues, or leave out for a fresh set. */
  counters?: BlkCounters;
  /** Told about each host I/O error (for a log line); must not throw. */
  onHostError?: (err: unknown, type: number, sector: number) => void;
  /** Offered each valid IN/OUT with its views resolved; true: the taker moves the data, writes `status`, counts bytes (io-pool.ts); execute() returns PENDING. */
  offload?: BlkOffload;
  /** Called before a FLUSH syncs: wait until every offloaded request has finished. */
  beforeFlush?: () => void;
}

/** execute()'s answer for a request handed to `offload`: nothing to push yet. */
export const PENDING: BlkResult = Object.freeze({ status: null, len: PENDING_LEN });

const HDR = BLK_REQ_HEADER_SIZE;
const SECTOR = BLK_SECTOR_SIZE;

export class BlkRequestExecutor {
  declare readonly counters: BlkCounters;
  declare private readonly image: BlockImage;
  declare private readonly cfg: BlkConfig;
  declare private readonly id: Uint8Array;
  declare private readonly discardOn: boolean;
  declare private readonly writeZeroesOn: boolean;
  declare private readonly onHostError: BlkExecutorOptions['onHostError'];
  declare private readonly offload: BlkOffload | undefined;
  declare private readonly beforeFlush: (() => void) | undefined;
  // Per-request scratch, reused: one executor serves one queue, synchronously.
  private readonly hdrBytes = new Uint8Array(HDR);
  private readonly hdr = { type: 0, reserved: 0, sector: 0 };
  /** The views collect() resolved: views[0 .. nViews). Reused, never shrunk (a length store is slow). */
  private readonly views: Uint8Array[] = [];
  private nViews = 0;
  private dwzBytes = new Uint8Array(BLK_DWZ_SEGMENT_SIZE);
  private readonly seg = { sector: 0, numSectors: 0, flags: 0 };
  private status: Uint8Array | null = null;
  private wData = 0;

  constructor(opts: BlkExecutorOptions) {
    this.image = opts.image;
    this.cfg = opts.config;
    this.id = encodeBlkId(opts.serial);
    const acked = opts.ackedFeatures ?? -1n;
    this.discardOn = (acked & blkFeatureMask(BlkFeature.DISCARD)) !== 0n;
    this.writeZeroesOn = (acked & blkFeatureMask(BlkFeature.WRITE_ZEROES)) !== 0n;
    this.counters = opts.counters ?? newBlkCounters();
    this.onHostError = opts.onHostError;
    this.offload = opts.offload;
    this.beforeFlush = opts.beforeFlush;
  }

  /** Perform one request. Never throws: every failure is a status and a counter. */
  execute(mem: GuestMemory, chain: DescriptorChain): BlkResult {
    this.status = null;
    this.wData = 0;
    try {
      return this.run(mem, chain.segments);
    } catch (e) {
      // Only a bug in an image implementation gets here; the guest still gets an answer.
      return this.hostError(e, this.wData);
    } finally {
      this.nViews = 0;
    }
  }

  private run(mem: GuestMemory, segs: readonly Segment[]): BlkResult {
    let firstW = segs.length;
    let rLen = 0;
    let wLen = 0;
    let ordered = true;
    let oversized = false;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (s.writable) {
        if (firstW === segs.length) firstW = i;
        wLen += s.len;
      } else {
        if (firstW !== segs.length) ordered = false;
        rLen += s.len;
      }
      if (this.cfg.sizeMax !== 0 && s.len > this.cfg.sizeMax) oversized = true;
    }
    this.status = wLen > 0 ? this.statusByte(mem, segs) : null;
    if (this.status === null || !ordered || rLen < HDR) return this.chainError();
    if (!this.collect(mem, segs, 0, firstW, 0, HDR)) return this.chainError();
    copyViews(this.views, this.nViews, this.hdrBytes);
    const h = decodeBlkHeader(this.hdrBytes, 0, this.hdr);
    const rData = rLen - HDR;
    const wData = wLen - 1;
    this.wData = wData;
    const c = this.counters;
    if (oversized || (this.cfg.segMax !== 0 && segs.length > this.cfg.segMax + 2)) {
      c[counterOf(h.type)]++;
      return this.fail('errorsRequest', wData);
    }
    switch (h.type) {
      case BlkRequestType.IN:
        c.requestsIn++;
        if (rData !== 0 || wData % SECTOR !== 0) return this.chainError();
        return this.transfer(mem, segs, firstW, segs.length, 0, wData, h.sector, false);
      case BlkRequestType.OUT:
        c.requestsOut++;
        if (wData !== 0 || rData % SECTOR !== 0) return this.chainError();
        // Spec: IOERR and no data written on a read-only device.
        if (this.image.readOnly) return this.fail('errorsReadOnly', wData);
        return this.transfer(mem, segs, 0, firstW, HDR, rData, h.sector, true);
      case BlkRequestType.FLUSH: {
        c.requestsFlush++;
        // Data in a FLUSH is only a SHOULD NOT for the driver: ignored. A
        // nonzero sector is a MUST broken: the driver is confused, say so.
        if (h.sector !== 0) return this.fail('errorsRequest', wData);
        try {
          this.beforeFlush?.(); // offloaded writes land first
          this.image.flush(); // fdatasync, before the status byte says OK
        } catch (e) {
          return this.hostError(e, wData);
        }
        return this.finish(BlkStatus.OK, 0, wData);
      }
      case BlkRequestType.GET_ID: {
        c.requestsGetId++;
        // The driver MUST give 20 bytes; with fewer, write what fits.
        const n = Math.min(BLK_ID_BYTES, wData);
        if (!this.collect(mem, segs, firstW, segs.length, 0, n)) return this.chainError();
        let off = 0;
        for (let i = 0; i < this.nViews; i++) {
          const v = this.views[i];
          v.set(this.id.subarray(off, off + v.length));
          off += v.length;
        }
        return this.finish(BlkStatus.OK, n, wData);
      }
      case BlkRequestType.DISCARD:
      case BlkRequestType.WRITE_ZEROES:
        return this.discardOrZero(mem, segs, firstW, h.type, rData, wData);
      default:
        c.requestsOther++;
        return this.unsupported(wData);
    }
  }

  /**
   * IN (write = false) or OUT: n data bytes at `from` in segs[start..end),
   * moved between guest memory and the image at `sector`. Every view is
   * resolved before the first byte moves.
   */
  private transfer(
    mem: GuestMemory,
    segs: readonly Segment[],
    start: number,
    end: number,
    from: number,
    n: number,
    sector: number,
    write: boolean,
  ): BlkResult {
    const wData = this.wData;
    if (!this.inCapacity(sector, n / SECTOR)) return this.fail('errorsRange', wData);
    if (!this.collect(mem, segs, start, end, from, n)) return this.chainError();
    // run() made sure there is a status byte.
    const st = this.status as Uint8Array;
    if (n > 0 && this.offload?.(write, sector * SECTOR, this.views, this.nViews, n, st))
      return PENDING;
    try {
      let pos = sector * SECTOR;
      for (let i = 0; i < this.nViews; i++) {
        const v = this.views[i];
        if (write) this.image.writeFrom(v, pos);
        else this.image.readInto(v, pos);
        pos += v.length;
      }
    } catch (e) {
      return this.hostError(e, wData);
    }
    if (write) {
      this.counters.bytesWritten += n;
      return this.finish(BlkStatus.OK, 0, wData);
    }
    this.counters.bytesRead += n;
    return this.finish(BlkStatus.OK, n, wData);
  }

  /** DISCARD and WRITE_ZEROES: validate every segment of the copied list, then act. */
  private discardOrZero(
    mem: GuestMemory,
    segs: readonly Segment[],
    firstW: number,
    type: number,
    rData: number,
    wData: number,
  ): BlkResult {
    const discard = type === BlkRequestType.DISCARD;
    this.counters[discard ? 'requestsDiscard' : 'requestsWriteZeroes']++;
    if (!(discard ? this.discardOn : this.writeZeroesOn)) return this.unsupported(wData);
    if (rData === 0 || rData % BLK_DWZ_SEGMENT_SIZE !== 0) return this.chainError();
    const n = rData / BLK_DWZ_SEGMENT_SIZE;
    const maxSeg = discard ? this.cfg.maxDiscardSeg : this.cfg.maxWriteZeroesSeg;
    const maxSectors = discard ? this.cfg.maxDiscardSectors : this.cfg.maxWriteZeroesSectors;
    if (n > maxSeg) return this.fail('errorsRequest', wData);
    if (this.image.readOnly) return this.fail('errorsReadOnly', wData);
    if (!this.collect(mem, segs, 0, firstW, HDR, rData)) return this.chainError();
    if (this.dwzBytes.length < rData) this.dwzBytes = new Uint8Array(rData);
    copyViews(this.views, this.nViews, this.dwzBytes);
    const seg = this.seg;
    for (let i = 0; i < n; i++) {
      decodeBlkDwzSegment(this.dwzBytes, i * BLK_DWZ_SEGMENT_SIZE, seg);
      // Spec: UNSUPP for unknown flags, and for UNMAP on a DISCARD.
      if ((seg.flags & ~BLK_DWZ_FLAG_UNMAP) !== 0 || (discard && seg.flags !== 0)) {
        return this.unsupported(wData);
      }
      if (seg.numSectors > maxSectors) return this.fail('errorsRequest', wData);
      if (!this.inCapacity(seg.sector, seg.numSectors)) return this.fail('errorsRange', wData);
    }
    try {
      for (let i = 0; i < n; i++) {
        decodeBlkDwzSegment(this.dwzBytes, i * BLK_DWZ_SEGMENT_SIZE, seg);
        if (discard) this.image.discard(seg.sector * SECTOR, seg.numSectors * SECTOR);
        else this.image.writeZeroes(seg.sector * SECTOR, seg.numSectors * SECTOR);
        this.counters.sectorsZeroed += seg.numSectors;
      }
    } catch (e) {
      return this.hostError(e, wData);
    }
    return this.finish(BlkStatus.OK, 0, wData);
  }

  private inCapacity(sector: number, count: number): boolean {
    const cap = this.image.capacitySectors;
    return sector <= cap && count <= cap - sector;
  }

  /** A view of the last writable byte, or null if it is not in guest memory. */
  private statusByte(mem: GuestMemory, segs: readonly Segment[]): Uint8Array | null {
    for (let i = segs.length - 1; i >= 0; i--) {
      const s = segs[i];
      if (!s.writable || s.len === 0) continue;
      try {
        return mem.bytes(s.addr + s.len - 1, 1);
      } catch {
        return null;
      }
    }
    return null;
  }

  /**
   * Fill this.views with views of bytes [from, from+n) of the area made of
   * segs[start..end), stopping short of nothing. False on an address the
   * guest memory refuses.
   */
  private collect(
    mem: GuestMemory,
    segs: readonly Segment[],
    start: number,
    end: number,
    from: number,
    n: number,
  ): boolean {
    const views = this.views;
    let k = 0;
    this.nViews = 0;
    try {
      for (let i = start; i < end && n > 0; i++) {
        const s = segs[i];
        if (from >= s.len) {
          from -= s.len;
          continue;
        }
        const take = Math.min(s.len - from, n);
        views[k++] = mem.bytes(s.addr + from, take);
        this.nViews = k;
        n -= take;
        from = 0;
      }
    } catch {
      return false;
    }
    return n === 0;
  }

  private finish(status: BlkStatusValue, dataWritten: number, wData: number): BlkResult {
    const view = this.status;
    if (view === null) return { status: null, len: 0 };
    view[0] = status;
    return { status, len: dataWritten === wData ? wData + 1 : dataWritten };
  }

  private fail(kind: BlkCounterName, wData: number): BlkResult {
    this.counters[kind]++;
    return this.finish(BlkStatus.IOERR, 0, wData);
  }

  private unsupported(wData: number): BlkResult {
    this.counters.unsupported++;
    return this.finish(BlkStatus.UNSUPP, 0, wData);
  }

  private chainError(): BlkResult {
    this.counters.errorsChain++;
    if (this.status !== null) this.status[0] = BlkStatus.IOERR;
    return { status: this.status === null ? null : BlkStatus.IOERR, len: 0 };
  }

  private hostError(e: unknown, wData: number): BlkResult {
    try {
      this.onHostError?.(e, this.hdr.type, this.hdr.sector);
    } catch {
      // A logger that throws must not turn an I/O error into a crash.
    }
    return this.fail('errorsHostIo', wData);
  }
}

function counterOf(type: number): BlkCounterName {
  switch (type) {
    case BlkRequestType.IN:
      return 'requestsIn';
    case BlkRequestType.OUT:
      return 'requestsOut';
    case BlkRequestType.FLUSH:
      return 'requestsFlush';
    case BlkRequestType.GET_ID:
      return 'requestsGetId';
    case BlkRequestType.DISCARD:
      return 'requestsDiscard';
    case BlkRequestType.WRITE_ZEROES:
      return 'requestsWriteZeroes';
    default:
      return 'requestsOther';
  }
}

/** Concatenate views[0 .. n) into dst (dst is at least their total length). */
function copyViews(views: readonly Uint8Array[], n: number, dst: Uint8Array): void {
  let off = 0;
  for (let i = 0; i < n; i++) {
    const v = views[i];
    dst.set(v, off);
    off += v.length;
  }
}
