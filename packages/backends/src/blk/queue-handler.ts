// A virtio-blk request queue as serveQueue drives it: each chain goes to the
// executor (one per queue: queues of one disk run concurrently in their own
// workers, each with its own file descriptor), and the executor's counters
// are mirrored into the device's shared counters for the VMM to read. With
// an I/O pool (io-pool.ts) the executor hands IN/OUT data to it and the
// chain completes later, in reap(): status byte first, then the used entry.
import {
  type BlkConfig,
  BlkRequestType,
  BlkStatus,
  type DescriptorChain,
  type DeviceQueue,
  type FeatureSet,
  type Segment,
} from '@pvkit/virtio-ring';
import type { QueueHandler } from '../virtio/serve.ts';
import { BLK_COUNTER_NAMES, type BlkCounters, newBlkCounters } from './counters.ts';
import { BlkRequestExecutor } from './executor.ts';
import type { BlockImage } from './image.ts';
import type { BlkIoPool, BlkPendingJob } from './io-pool.ts';

/** Smaller IN/OUT requests are copied by the queue's own thread (A/B in BENCHMARKS.md: 4 KiB lost). */
const POOL_MIN_BYTES = 32 * 1024;
/** How long close() waits for pooled jobs still in flight. */
const CLOSE_WAIT_MS = 2000;

/** Chains between two counter mirrors while busy (they are mirrored before every sleep too). */
const MIRROR_EVERY = 1024;

export interface BlkQueueOptions {
  image: BlockImage;
  config: BlkConfig;
  serial: string;
  /** The device's counters (Float64Array) and where this queue's blk slots start. */
  shared: Float64Array;
  sharedBase: number;
  /** Told about host I/O errors (rare): a line for the domain's log. */
  log?: (line: string) => void;
  /** Copying threads for IN/OUT (the image's descriptor is theirs too); none: this thread copies. */
  pool?: BlkIoPool;
}

export class BlkQueueHandler implements QueueHandler {
  declare private readonly opts: BlkQueueOptions;
  private readonly counters: BlkCounters = newBlkCounters();
  private executor: BlkRequestExecutor | null = null;
  /** One chain object, refilled from the ring's reader for every request (no allocation). */
  private readonly chain: DescriptorChain = {
    head: 0,
    segments: [],
    readableLen: 0,
    writableLen: 0,
  };
  private readonly segPool: Segment[] = [];
  private sinceMirror = 0;
  declare private readonly pool: BlkIoPool | null;
  /** The chain being executed (the pool's job slot), and the queue reap() pushes to. */
  private head = 0;
  private reapQueue: DeviceQueue | null = null;
  private reapCount: ((len: number) => void) | null = null;

  constructor(opts: BlkQueueOptions) {
    this.opts = opts;
    this.pool = opts.pool ?? null;
  }

  start(_queue: DeviceQueue, features: FeatureSet): void {
    const { image, config, serial, log } = this.opts;
    this.executor = new BlkRequestExecutor({
      image,
      config,
      serial,
      ackedFeatures: features,
      counters: this.counters,
      onHostError: (err, type, sector) =>
        log?.(`host I/O error on ${typeName(type)} at sector ${sector}: ${String(err)}`),
      ...(this.pool ? { offload: this.offload, beforeFlush: () => this.settle() } : {}),
    });
  }

  private readonly offload = (
    write: boolean,
    pos: number,
    views: readonly Uint8Array[],
    n: number,
    bytes: number,
    status: Uint8Array,
  ): boolean =>
    // Small requests, and the last chain in the ring, are copied here: a
    // hand-off costs two thread crossings, more than a 4 KiB copy, and the
    // last one would leave this thread waiting with nothing to do.
    bytes >= POOL_MIN_BYTES &&
    (this.reapQueue as DeviceQueue).hasAvailable() &&
    (this.pool as BlkIoPool).offload(this.head, write, pos, views, n, bytes, status);

  inFlight(): number {
    return this.pool?.inFlight ?? 0;
  }

  /** Push every pooled request that has finished; how many. */
  reap(queue: DeviceQueue, count: (len: number) => void): number {
    const pool = this.pool;
    if (pool === null || pool.inFlight === 0) return 0;
    this.reapQueue = queue;
    this.reapCount = count;
    let n = 0;
    while (pool.nextDone(this.done)) n++;
    return n;
  }

  /**
   * Before a FLUSH: take back (and push) every pooled request, copying here
   * while any waits, so the flush covers all writes before it and its used
   * entry comes after theirs.
   */
  private settle(): void {
    const pool = this.pool;
    if (pool === null) return;
    while (pool.inFlight > 0) if (!pool.nextDone(this.done)) this.idle(50);
  }

  /** The ring is empty but jobs are out: copy one here, or wait for one to finish. */
  idle(ms: number): void {
    const pool = this.pool;
    if (pool !== null && !pool.helpOne()) pool.waitDone(ms);
  }

  /** A pooled request came back: the data is in place, so say so (as the executor's finish() would). */
  private readonly done = (head: number, p: BlkPendingJob, result: number): void => {
    const c = this.counters;
    c.pooled++;
    let len: number;
    if (result === 0) {
      p.status[0] = BlkStatus.OK;
      if (p.write) c.bytesWritten += p.bytes;
      else c.bytesRead += p.bytes;
      len = p.write ? 1 : p.bytes + 1;
    } else {
      p.status[0] = BlkStatus.IOERR;
      c.errorsHostIo++;
      const what = p.write ? 'OUT' : 'IN';
      this.opts.log?.(`host I/O error on ${what} at sector ${p.pos / 512}: errno ${result}`);
      len = p.write ? 1 : 0;
    }
    this.reapQueue?.push(head, len);
    this.reapCount?.(len);
  };

  handle(queue: DeviceQueue, head: number): number {
    const ex = this.executor;
    if (ex === null) return 0;
    const r = queue.chain;
    const c = this.chain;
    const segs = c.segments;
    const pool = this.segPool;
    if (segs.length !== r.count) segs.length = r.count; // a length store is slow in V8
    for (let i = 0; i < r.count; i++) {
      let s = pool[i];
      if (s === undefined) s = pool[i] = { addr: 0, len: 0, writable: false };
      s.addr = r.addr[i];
      s.len = r.len[i];
      s.writable = i >= r.readableCount;
      segs[i] = s;
    }
    c.head = head;
    c.readableLen = r.readableLen;
    c.writableLen = r.writableLen;
    this.head = head;
    this.reapQueue = queue;
    const len = ex.execute(queue.mem, c).len;
    if (++this.sinceMirror >= MIRROR_EVERY) this.mirror();
    return len;
  }

  stopQueue(): void {
    this.executor = null;
    this.mirror();
  }

  beforeSleep(): void {
    this.mirror();
  }

  close(): void {
    const pool = this.pool;
    if (pool !== null) {
      // The queue is gone: let what is in flight land, then stop the helpers.
      this.reapQueue = null;
      this.reapCount = null;
      const until = performance.now() + CLOSE_WAIT_MS;
      while (pool.inFlight > 0 && performance.now() < until)
        if (!pool.nextDone(this.done)) pool.waitDone(50);
      // A helper that did not leave may still use the descriptor: leaking it
      // is better than closing a number another file may get next.
      if (pool.inFlight > 0 || !pool.close()) {
        this.opts.log?.('blk I/O helpers did not stop in time; the image stays open');
        this.mirror();
        return;
      }
    }
    this.mirror();
    this.opts.image.close();
  }

  /** Copy the executor's counters into this queue's blk slots of the shared counters. */
  private mirror(): void {
    this.sinceMirror = 0;
    const { shared, sharedBase } = this.opts;
    const c = this.counters;
    for (let i = 0; i < BLK_COUNTER_NAMES.length; i++)
      shared[sharedBase + i] = c[BLK_COUNTER_NAMES[i]];
  }
}

function typeName(type: number): string {
  const e = Object.entries(BlkRequestType).find(([, v]) => v === type);
  return e ? e[0] : `type ${type}`;
}
