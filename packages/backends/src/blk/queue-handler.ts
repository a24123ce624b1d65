// A virtio-blk request queue as serveQueue drives it: each chain goes to the
// executor (one per queue: queues of one disk run concurrently in their own
// workers, each with its own file descriptor), and the executor's counters
// are mirrored into the device's shared counters for the VMM to read.
import {
  type BlkConfig,
  BlkRequestType,
  type DescriptorChain,
  type DeviceQueue,
  type FeatureSet,
  type Segment,
} from '@pvkit/virtio-ring';
import type { QueueHandler } from '../virtio/serve.ts';
import { BLK_COUNTER_NAMES, type BlkCounters, newBlkCounters } from './counters.ts';
import { BlkRequestExecutor } from './executor.ts';
import type { BlockImage } from './image.ts';

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
}

export class BlkQueueHandler implements QueueHandler {
  private readonly opts: BlkQueueOptions;
  private readonly counters: BlkCounters = newBlkCounters();
  private executor: BlkRequestExecutor | null = null;
  /** One chain object, refilled from the ring's reader for every request (no allocation). */
  private readonly chain: DescriptorChain = {
    head: 0,
    segments: [],
    readableLen: 0,
    writableLen: 0,
  };
  private readonly pool: Segment[] = [];
  private sinceMirror = 0;

  constructor(opts: BlkQueueOptions) {
    this.opts = opts;
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
    });
  }

  handle(queue: DeviceQueue, head: number): number {
    const ex = this.executor;
    if (ex === null) return 0;
    const r = queue.chain;
    const c = this.chain;
    const segs = c.segments;
    const pool = this.pool;
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
