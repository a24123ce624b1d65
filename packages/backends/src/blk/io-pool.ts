// The owner side of a blk queue's I/O pool ("iothreads": N): N helper
// threads that do the copying of IN and OUT requests, so one disk gets more
// than one copying thread without more guest queues.
//
// The owner stays the only device-side user of the ring: it pops and
// validates every chain, and for IN/OUT it hands (direction, file offset,
// guest pieces) to the pool instead of calling readSync itself. Whatever
// else it has to do, it does first; when it has nothing else, it claims a
// job itself (the owner is one more copier, so N helpers make N+1). Jobs
// finish in any order; the split ring allows used entries out of order.
//
// Helpers are nested workers of the owner's own worker, started from the
// same module (its entry switches on `role`), so they die with it: a
// backend that is killed takes its helpers along.
import { Worker } from 'node:worker_threads';
import { MAX_IOTHREADS } from './config.ts';
import type { IoHelperData } from './io-helper.ts';
import { createIoJobBuffers, IoJobs, MAX_JOB_VIEWS } from './io-jobs.ts';

/** How long a helper polls for the next job before sleeping, µs. */
const HELPER_SPIN_US = 20;
/** How long close() waits for the helpers to leave before giving up on them. */
const EXIT_WAIT_MS = 2000;

export interface BlkIoPoolOptions {
  /** The guest memory the requests' pieces are in. */
  memory: SharedArrayBuffer;
  /** The image's descriptor (shared with the helpers; closed by the owner after close()). */
  fd: number;
  threads: number;
  /** Job slots: the queue's size (one per head). */
  slots: number;
  /** The module that runs runIoHelper() when its workerData has role 'blk-io-helper'. */
  entry: string | URL;
}

/** What the owner must remember about a job until it comes back. */
interface Pending {
  status: Uint8Array;
  write: boolean;
  bytes: number;
  pos: number;
}

export class BlkIoPool {
  declare readonly threads: number;
  /** Jobs handed out and not yet taken back with nextDone(). */
  inFlight = 0;
  declare private readonly jobs: IoJobs;
  private readonly workers: Worker[] = [];
  declare private readonly pending: (Pending | null)[];
  declare private readonly io: (write: boolean, gpa: number, len: number, pos: number) => void;
  private closed = false;

  constructor(
    opts: BlkIoPoolOptions,
    io: (write: boolean, gpa: number, len: number, pos: number) => void,
  ) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > MAX_IOTHREADS)
      throw new RangeError(`iothreads ${opts.threads}: expected 1..${MAX_IOTHREADS}`);
    this.threads = opts.threads;
    const buffers = createIoJobBuffers(opts.slots);
    this.jobs = new IoJobs(buffers);
    this.pending = new Array<Pending | null>(opts.slots).fill(null);
    this.io = io;
    const data: IoHelperData = {
      role: 'blk-io-helper',
      memory: opts.memory,
      fd: opts.fd,
      jobs: buffers,
      spinUs: HELPER_SPIN_US,
    };
    for (let i = 0; i < opts.threads; i++) {
      const w = new Worker(opts.entry, { workerData: data, execArgv: [] });
      // The owner's loop never returns to its event loop while it serves;
      // once it stops, nothing of a helper should keep the thread alive.
      w.unref();
      // A helper that fails to start or dies leaves its jobs to the other
      // copiers (the owner claims whatever waits); nothing to report here.
      w.on('error', () => {});
      this.workers.push(w);
    }
  }

  /**
   * Hand request `head` to the pool: `views` (resolved, bounds-checked
   * pieces of guest memory) moved at file offset `pos`. False when it does
   * not fit a job (the caller then does it itself).
   */
  offload(
    head: number,
    write: boolean,
    pos: number,
    views: readonly Uint8Array[],
    n: number,
    bytes: number,
    status: Uint8Array,
  ): boolean {
    if (this.closed || n > MAX_JOB_VIEWS || this.pending[head] !== null) return false;
    this.pending[head] = { status, write, bytes, pos };
    this.jobs.setJob(head, write, pos, views, n);
    this.jobs.submit(head);
    this.inFlight++;
    return true;
  }

  /**
   * Take back the next finished job: calls `done` with its head, what it
   * asked for, and 0 or the host errno; false when none has finished.
   */
  nextDone(done: (head: number, p: Pending, result: number) => void): boolean {
    const head = this.jobs.nextDone();
    if (head < 0) return false;
    const p = this.pending[head] as Pending;
    this.pending[head] = null;
    this.inFlight--;
    done(head, p, this.jobs.result(head));
    return true;
  }

  /** Do one published job on this thread (the owner as a copier). False if none waited. */
  helpOne(): boolean {
    const head = this.jobs.claim();
    if (head < 0) return false;
    this.jobs.run(head, this.io);
    return true;
  }

  /** Jobs published that no copier has taken yet. */
  get unclaimed(): number {
    return this.jobs.unclaimed;
  }

  /** Sleep until a job finishes (or `ms` pass). */
  waitDone(ms: number): void {
    if (this.inFlight > 0) this.jobs.waitDone(ms);
  }

  /**
   * Stop the helpers. Call with nothing in flight (take every job back
   * first). True when all of them left in time: only then may the
   * descriptor they use be closed (a closed fd number can be reused by
   * another file before a late helper writes through it).
   */
  close(): boolean {
    if (this.closed) return true;
    this.closed = true;
    this.jobs.requestStop();
    const left = this.jobs.waitExited(this.threads, EXIT_WAIT_MS);
    if (!left) for (const w of this.workers) void w.terminate();
    return left;
  }
}

export type { Pending as BlkPendingJob };
