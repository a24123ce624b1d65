// What an app holds: an open disk (BlockHandle) and I/O buffers of guest
// pages (IoBuffer). Reads and writes go straight between the disk and the
// buffer's pages: the backend's read() fills them, nothing is copied.
//
// Two ways to do I/O. `await disk.read(buf, offset)` parks the task until
// that one I/O is done. For queue depth > 1 from one task (a cooperative
// task parks at most once at a time): `submit()` many, then `await reap()`
// the ones that completed, io_uring style.
import { PAGE_SIZE } from '@pvkit/hypercall';
import type { Kernel } from '../kernel.ts';
import type { BlockIo, RequestQueue } from './request-queue.ts';
import { BlockError, type BlockOp } from './types.ts';

/**
 * Where data starts in a buffer's first page. Reading from the host page
 * cache into a destination 0 or 8 bytes past a 4 KiB boundary runs 4-6x
 * slower on these hosts than at 32 or more (bench/blk/README.md): guest
 * pages are page-aligned, so buffers start 64 bytes in.
 */
export const IO_BUFFER_PAGE_OFFSET = 64;

export interface IoBuffer {
  /** Guest-physical address of byte 0. */
  readonly gpa: number;
  readonly length: number;
  /** The buffer's bytes (a view of guest memory). */
  readonly bytes: Uint8Array;
  /** Give the pages back. */
  free(): void;
}

export function allocIoBuffer(kernel: Kernel, length: number): IoBuffer {
  if (!Number.isInteger(length) || length <= 0)
    throw new RangeError(`I/O buffer of ${length} bytes`);
  const pages = Math.ceil((length + IO_BUFFER_PAGE_OFFSET) / PAGE_SIZE);
  const base = kernel.mm.alloc(pages, 'app');
  const gpa = base + IO_BUFFER_PAGE_OFFSET;
  let freed = false;
  return {
    gpa,
    length,
    bytes: kernel.hv.u8.subarray(gpa, gpa + length),
    free() {
      if (freed) return;
      freed = true;
      kernel.mm.release(base, pages);
    },
  };
}

export class BlockHandle {
  declare readonly name: string;
  declare readonly sizeBytes: number;
  declare readonly readOnly: boolean;
  declare readonly serial: string;
  declare private readonly queue: RequestQueue;
  declare private readonly kernel: Kernel;
  private completed: BlockIo[] = [];
  private reaper: (() => void) | null = null;
  private submitted = 0;

  constructor(kernel: Kernel, queue: RequestQueue) {
    this.kernel = kernel;
    this.queue = queue;
    const d = queue.driver;
    this.name = d.name;
    this.sizeBytes = d.sizeBytes;
    this.readOnly = d.readOnly;
    this.serial = d.serial;
  }

  /** Device requests this disk keeps in flight at most (all openers share it). */
  get queueDepth(): number {
    return this.queue.depth;
  }
  set queueDepth(n: number) {
    this.queue.depth = n;
  }

  /** I/Os submitted with submit() and not yet reaped. */
  get inFlight(): number {
    return this.submitted;
  }

  read(buf: IoBuffer, offset: number, length = buf.length, bufOffset = 0): Promise<void> {
    const w = new Waiter();
    return w.wait(this.kernel, this.start('read', buf, offset, length, bufOffset, w.notify));
  }

  write(buf: IoBuffer, offset: number, length = buf.length, bufOffset = 0): Promise<void> {
    const w = new Waiter();
    return w.wait(this.kernel, this.start('write', buf, offset, length, bufOffset, w.notify));
  }

  /** Everything written (and completed) before is on stable storage when this resolves. */
  flush(): Promise<void> {
    const w = new Waiter();
    return w.wait(this.kernel, this.queue.submit('flush', 0, 0, 0, w.notify));
  }

  /** Forget a range: it reads as zeros afterwards. */
  discard(offset: number, length: number): Promise<void> {
    const w = new Waiter();
    return w.wait(this.kernel, this.queue.submit('discard', offset, length, 0, w.notify));
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    const w = new Waiter();
    return w.wait(this.kernel, this.queue.submit('write-zeroes', offset, length, 0, w.notify));
  }

  /** Queue a read or write and return at once; collect it with reap(). */
  submit(
    op: 'read' | 'write',
    buf: IoBuffer,
    offset: number,
    length = buf.length,
    bufOffset = 0,
    tag = 0,
  ): BlockIo {
    const io = this.start(op, buf, offset, length, bufOffset, this.onReaped, tag);
    this.submitted++;
    return io;
  }

  /** Park until at least one submitted I/O is done; returns every one done since the last reap. */
  async reap(): Promise<BlockIo[]> {
    if (this.completed.length === 0) {
      if (this.submitted === 0) return [];
      await this.kernel.sched.park<void>((resume) => {
        this.reaper = resume;
      });
    }
    const out = this.completed;
    this.completed = [];
    this.submitted -= out.length;
    return out;
  }

  private readonly onReaped = (io: BlockIo): void => {
    this.completed.push(io);
    const r = this.reaper;
    if (r !== null) {
      this.reaper = null;
      r();
    }
  };

  private start(
    op: BlockOp,
    buf: IoBuffer,
    offset: number,
    length: number,
    bufOffset: number,
    notify: ((io: BlockIo) => void) | null,
    tag = 0,
  ): BlockIo {
    if (!Number.isInteger(bufOffset) || bufOffset < 0 || !(length <= buf.length - bufOffset))
      throw new BlockError(
        'bad-buffer',
        `${op} of ${length} bytes at buffer offset ${bufOffset}: the buffer has ${buf.length}`,
      );
    return this.queue.submit(op, offset, length, buf.gpa + bufOffset, notify, tag);
  }
}

/** One task waiting for one I/O. */
class Waiter {
  private resume: (() => void) | null = null;
  readonly notify = (): void => {
    const r = this.resume;
    this.resume = null;
    r?.();
  };

  /** Park until `io` is done; throw its error. */
  async wait(kernel: Kernel, io: BlockIo): Promise<void> {
    if (!io.done) {
      await kernel.sched.park<void>((resume) => {
        this.resume = resume;
      });
    }
    if (io.error) throw io.error;
  }
}
