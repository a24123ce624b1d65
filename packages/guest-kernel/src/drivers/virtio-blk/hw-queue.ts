// One virtio-blk request queue, driver side. Every request in flight owns a
// slot of kernel memory for the parts the driver itself writes or reads:
//
//   slot + 0   request header {type, reserved, sector}   (device-readable)
//   slot + 16  status byte                                (device-writable)
//   slot + 20  GET_ID answer, 20 bytes                    (device-writable)
//   slot + 48  one DISCARD / WRITE_ZEROES segment          (device-readable)
//
// The chain is header, data (the app's own pages), status: Linux's layout.
// The slot index is the chain's token, so a completion finds its request
// by head in O(1). Completions run in the upcall path (the queue's event).
import { PAGE_SIZE } from '@pvkit/hypercall';
import {
  BLK_DWZ_SEGMENT_SIZE,
  BLK_ID_BYTES,
  BLK_REQ_HEADER_SIZE,
  BLK_SECTOR_SIZE,
  BlkRequestType,
  BlkStatus,
  type BufferRef,
  DeviceFaultError,
  decodeBlkId,
  encodeBlkDwzSegment,
  encodeBlkHeader,
} from '@pvkit/virtio-ring';
import { BlockError, type BlockOp, type HwRequest } from '../../block/types.ts';
import type { Kernel } from '../../kernel.ts';
import { freeQueueMemory, type Virtqueue } from '../virtio/virtqueue.ts';

const SLOT_SIZE = 64;
const SLOT_STATUS = 16;
const SLOT_ID = 20;
const SLOT_SEGMENT = 48;
/** Written into the status byte before submitting: a device that never wrote it is caught. */
const STATUS_UNSET = 0xff;

const TYPE_OF: Record<BlockOp, number> = {
  read: BlkRequestType.IN,
  write: BlkRequestType.OUT,
  flush: BlkRequestType.FLUSH,
  discard: BlkRequestType.DISCARD,
  'write-zeroes': BlkRequestType.WRITE_ZEROES,
};

export class BlkHwQueue {
  declare readonly vq: Virtqueue<number>;
  /** Set when the device broke (DEVICE_NEEDS_RESET, or a lie in the used ring). */
  broken: string | null = null;
  declare private readonly u8: Uint8Array;
  declare private readonly slots: number;
  declare private readonly freeSlots: Int32Array;
  declare private nFree: number;
  declare private readonly requests: (HwRequest | null)[];
  private readonly hdr = { type: 0, reserved: 0, sector: 0 };
  // Reused chain descriptions (no allocation per request).
  private readonly rd: BufferRef[] = [];
  private readonly wr: BufferRef[] = [];
  private readonly pool: BufferRef[] = [];
  private used = 0;

  constructor(kernel: Kernel, vq: Virtqueue<number>) {
    this.vq = vq;
    this.u8 = kernel.hv.u8;
    const n = vq.ring.size;
    this.slots = kernel.mm.alloc(Math.ceil((n * SLOT_SIZE) / PAGE_SIZE));
    this.freeSlots = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeSlots[i] = n - 1 - i;
    this.nFree = n;
    this.requests = new Array<HwRequest | null>(n).fill(null);
  }

  /** Requests this queue can take now (free slots; descriptors permitting). */
  room(): number {
    return this.broken === null ? this.nFree : 1; // a broken queue "takes" requests to fail them
  }

  /** Build the chain for `rq` and submit it; false when the ring is out of descriptors. */
  add(rq: HwRequest): boolean {
    if (this.broken !== null) {
      rq.done(new BlockError('device-broken', this.broken));
      return true;
    }
    if (this.nFree === 0) return false;
    const slot = this.freeSlots[--this.nFree];
    const at = this.slots + slot * SLOT_SIZE;
    const u8 = this.u8;
    this.hdr.type = TYPE_OF[rq.op];
    this.hdr.sector = rq.sector;
    encodeBlkHeader(this.hdr, u8, at);
    u8[at + SLOT_STATUS] = STATUS_UNSET;
    this.used = 0;
    const rw = rq.op === 'read' || rq.op === 'write';
    const nData = rw ? rq.segments.length : 0;
    const dwz = rq.op === 'discard' || rq.op === 'write-zeroes';
    // Exact lengths, stored only when they change (a length store is slow in V8).
    const rd = sized(this.rd, 1 + (rq.op === 'write' ? nData : dwz ? 1 : 0));
    const wr = sized(this.wr, 1 + (rq.op === 'read' ? nData : 0));
    rd[0] = this.ref(at, BLK_REQ_HEADER_SIZE);
    if (rw) {
      const data = rq.op === 'read' ? wr : rd;
      const first = rq.op === 'read' ? 0 : 1;
      for (let i = 0; i < nData; i++)
        data[first + i] = this.ref(rq.segments[i].gpa, rq.segments[i].len);
    } else if (dwz) {
      const seg = { sector: rq.sector, numSectors: rq.segments[0].len / BLK_SECTOR_SIZE, flags: 0 };
      encodeBlkDwzSegment(seg, u8, at + SLOT_SEGMENT);
      rd[1] = this.ref(at + SLOT_SEGMENT, BLK_DWZ_SEGMENT_SIZE);
    }
    wr[wr.length - 1] = this.ref(at + SLOT_STATUS, 1);
    if (!this.vq.ring.add(rd, wr, slot)) {
      this.nFree++;
      return false;
    }
    this.requests[slot] = rq;
    this.vq.submit();
    return true;
  }

  /** GET_ID: `done` gets the device's serial ('' if it does not answer OK). False: no room. */
  addGetId(done: (serial: string) => void): boolean {
    if (this.broken !== null || this.nFree === 0) return false;
    const slot = this.freeSlots[--this.nFree];
    const at = this.slots + slot * SLOT_SIZE;
    const u8 = this.u8;
    encodeBlkHeader({ type: BlkRequestType.GET_ID, sector: 0 }, u8, at);
    u8[at + SLOT_STATUS] = STATUS_UNSET;
    u8.fill(0, at + SLOT_ID, at + SLOT_ID + BLK_ID_BYTES);
    const id = { addr: at + SLOT_ID, len: BLK_ID_BYTES };
    if (
      !this.vq.ring.add(
        [{ addr: at, len: BLK_REQ_HEADER_SIZE }],
        [id, { addr: at + SLOT_STATUS, len: 1 }],
        slot,
      )
    ) {
      this.nFree++;
      return false;
    }
    // Not a block-layer request: only its completion matters (op is for messages).
    this.requests[slot] = {
      op: 'read',
      sector: 0,
      segments: [],
      done: (err) => done(err === null ? decodeBlkId(u8.subarray(id.addr, id.addr + id.len)) : ''),
    };
    this.vq.submit();
    return true;
  }

  private ref(addr: number, len: number): BufferRef {
    let r = this.pool[this.used];
    if (r === undefined) r = this.pool[this.used] = { addr: 0, len: 0 };
    this.used++;
    r.addr = addr;
    r.len = len;
    return r;
  }

  /** The queue's interrupt: complete every used chain. Returns how many. */
  complete(): number {
    let n = 0;
    try {
      for (let slot = this.vq.reclaim(); slot !== undefined; slot = this.vq.reclaim()) {
        n++;
        const rq = this.requests[slot] as HwRequest;
        this.requests[slot] = null;
        this.freeSlots[this.nFree++] = slot;
        const status = this.u8[this.slots + slot * SLOT_SIZE + SLOT_STATUS];
        rq.done(status === BlkStatus.OK ? null : statusError(status, rq));
      }
    } catch (e) {
      if (!(e instanceof DeviceFaultError)) throw e;
      this.fail(`the device broke its used ring: ${e.message}`);
    }
    return n;
  }

  /** After a reset (Status read 0): give the ring and slot pages back. */
  release(kernel: Kernel): void {
    this.fail('the device was reset');
    kernel.mm.release(this.slots, Math.ceil((this.vq.ring.size * SLOT_SIZE) / PAGE_SIZE));
    freeQueueMemory(kernel, this.vq.memory);
  }

  /** The device is unusable: fail everything in flight and everything after. */
  fail(why: string): void {
    if (this.broken === null) this.broken = why;
    for (const slot of this.vq.ring.detachAll()) {
      const rq = this.requests[slot];
      this.requests[slot] = null;
      rq?.done(new BlockError('device-broken', why));
    }
  }
}

function sized(a: BufferRef[], n: number): BufferRef[] {
  if (a.length !== n) a.length = n;
  return a;
}

function statusError(status: number, rq: HwRequest): BlockError {
  const what = `${rq.op} at sector ${rq.sector}`;
  if (status === BlkStatus.UNSUPP)
    return new BlockError('unsupported', `${what}: device said UNSUPP`);
  if (status === BlkStatus.IOERR) return new BlockError('io-error', `${what}: device said IOERR`);
  return new BlockError('io-error', `${what}: device left status ${status}`);
}
