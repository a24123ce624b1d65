// The block layer's request queue (Linux blk-mq, reduced): an I/O of any
// size becomes device requests that fit the device's limits (split by
// size_max and seg_max, or max_discard_sectors), which wait in FIFO order
// until the queue depth and a hardware queue's ring have room. Hardware
// queues are used round robin, so a multi-queue device's backends work in
// parallel. Data buffers are the app's own guest pages: nothing is copied.
import { BLK_SECTOR_SIZE } from '@pvkit/virtio-ring';
import {
  type BlockDriver,
  BlockError,
  type BlockOp,
  type DataSegment,
  type HwRequest,
} from './types.ts';

/** One I/O as an app submitted it; done when every device request of it is. */
export interface BlockIo {
  readonly op: BlockOp;
  /** Byte offset on the disk and length. */
  readonly offset: number;
  readonly length: number;
  /** The first failure among its device requests, or null. */
  error: BlockError | null;
  done: boolean;
  /** System time (ns) at submit and at completion. */
  submittedNs: number;
  completedNs: number;
  /** Free for the submitter (e.g. which buffer this was). */
  tag: number;
}

/** The queue's private view of an I/O. */
interface Io extends BlockIo {
  remaining: number;
  notify: ((io: BlockIo) => void) | null;
}

/** The most bytes one device request carries, whatever the limits allow. */
const MAX_REQUEST_BYTES = 1 << 30;
/** Depth when nobody sets one: enough to keep several backends busy. */
export const DEFAULT_QUEUE_DEPTH = 128;

export class RequestQueue {
  declare readonly driver: BlockDriver;
  /** Device requests in flight, at most `depth`. */
  inFlight = 0;
  declare private depthLimit: number;
  private readonly waiting: HwRequest[] = [];
  private waitHead = 0;
  private nextHw = 0;
  declare private readonly now: () => number;

  constructor(driver: BlockDriver, now: () => number, depth = DEFAULT_QUEUE_DEPTH) {
    this.driver = driver;
    this.now = now;
    this.depthLimit = checkDepth(depth);
    driver.onComplete = () => this.dispatch();
  }

  get depth(): number {
    return this.depthLimit;
  }

  /** Change the queue depth (device requests in flight), 1..1024. */
  set depth(n: number) {
    this.depthLimit = checkDepth(n);
    this.dispatch();
  }

  /** Device requests waiting for room. */
  get queued(): number {
    return this.waiting.length - this.waitHead;
  }

  /**
   * Queue one I/O: read/write of `length` bytes at `offset` between the
   * disk and guest memory at `gpa`; flush; discard / write-zeroes of a
   * range. Checked here (alignment, range, read-only) so the device only
   * sees requests it can do. `notify` runs at completion (interrupt path).
   */
  submit(
    op: BlockOp,
    offset: number,
    length: number,
    gpa: number,
    notify: ((io: BlockIo) => void) | null,
    tag = 0,
  ): BlockIo {
    this.check(op, offset, length);
    const io: Io = {
      op,
      offset,
      length,
      error: null,
      done: false,
      submittedNs: this.now(),
      completedNs: 0,
      tag,
      remaining: 0,
      notify,
    };
    const parts = this.split(io, gpa);
    io.remaining = parts.length;
    for (const p of parts) this.waiting.push(p);
    this.dispatch();
    return io;
  }

  private check(op: BlockOp, offset: number, length: number): void {
    const d = this.driver;
    if (op === 'flush') return;
    // Built only on the way to an error: a template string per request costs.
    const what = () => `${op} of ${length} bytes at ${offset} on ${d.name}`;
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length <= 0 ||
      offset % BLK_SECTOR_SIZE !== 0 ||
      length % BLK_SECTOR_SIZE !== 0
    )
      throw new BlockError('out-of-range', `${what()}: offset and length must be whole sectors`);
    if (length > d.sizeBytes - offset)
      throw new BlockError('out-of-range', `${what()}: the disk has ${d.sizeBytes} bytes`);
    if (op !== 'read' && d.readOnly) throw new BlockError('read-only', `${what()}: read-only disk`);
    const max = op === 'discard' ? d.limits.maxDiscardSectors : d.limits.maxWriteZeroesSectors;
    if ((op === 'discard' || op === 'write-zeroes') && max === 0)
      throw new BlockError('unsupported', `${what()}: the device does not offer it`);
  }

  /** The device requests of one I/O, each within the device's limits. */
  private split(io: Io, gpa: number): HwRequest[] {
    const done = (err: BlockError | null) => this.finishPart(io, err);
    const sector0 = io.offset / BLK_SECTOR_SIZE;
    if (io.op === 'flush') return [{ op: 'flush', sector: 0, segments: [], done }];
    const lim = this.driver.limits;
    const out: HwRequest[] = [];
    if (io.op === 'discard' || io.op === 'write-zeroes') {
      const max = io.op === 'discard' ? lim.maxDiscardSectors : lim.maxWriteZeroesSectors;
      const chunk = max * BLK_SECTOR_SIZE;
      for (let off = 0; off < io.length; off += chunk) {
        const len = Math.min(chunk, io.length - off);
        out.push({
          op: io.op,
          sector: sector0 + off / BLK_SECTOR_SIZE,
          segments: [{ gpa: 0, len }],
          done,
        });
      }
      return out;
    }
    const seg = sectorFloor(lim.maxSegmentBytes > 0 ? lim.maxSegmentBytes : MAX_REQUEST_BYTES);
    const perRequest = sectorFloor(Math.min(MAX_REQUEST_BYTES, seg * Math.max(1, lim.maxSegments)));
    for (let off = 0; off < io.length; off += perRequest) {
      const len = Math.min(perRequest, io.length - off);
      const segments: DataSegment[] = [];
      for (let s = 0; s < len; s += seg)
        segments.push({ gpa: gpa + off + s, len: Math.min(seg, len - s) });
      out.push({ op: io.op, sector: sector0 + off / BLK_SECTOR_SIZE, segments, done });
    }
    return out;
  }

  private finishPart(io: Io, err: BlockError | null): void {
    this.inFlight--;
    if (err !== null && io.error === null) io.error = err;
    if (--io.remaining > 0) return;
    io.done = true;
    io.completedNs = this.now();
    io.notify?.(io);
  }

  /** Move waiting device requests onto hardware queues while depth and rings allow. */
  dispatch(): void {
    const d = this.driver;
    const w = this.waiting;
    const n = d.nrQueues;
    while (this.waitHead < w.length && this.inFlight < this.depthLimit) {
      let q = -1;
      for (let k = 0; k < n; k++) {
        const cand = (this.nextHw + k) % n;
        if (d.room(cand) > 0) {
          q = cand;
          break;
        }
      }
      if (q < 0) break; // every ring is full: completions will call us again
      this.nextHw = (q + 1) % n;
      // Taken off the list first: a driver may complete it at once (a broken
      // device), and the completion may re-enter dispatch().
      const rq = w[this.waitHead];
      w[this.waitHead++] = undefined as unknown as HwRequest;
      this.inFlight++;
      if (!d.queueRq(q, rq)) {
        // Out of descriptors after all (nothing ran): back at the head, retry after completions.
        this.inFlight--;
        w[--this.waitHead] = rq;
        break;
      }
    }
    if (this.waitHead === w.length) {
      w.length = 0;
      this.waitHead = 0;
    } else if (this.waitHead > 1024) {
      w.splice(0, this.waitHead);
      this.waitHead = 0;
    }
  }
}

function sectorFloor(n: number): number {
  return Math.max(BLK_SECTOR_SIZE, n - (n % BLK_SECTOR_SIZE));
}

function checkDepth(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024)
    throw new RangeError(`queue depth ${n}: must be an integer in 1..1024`);
  return n;
}
