// The shared memory between a blk queue's owner thread and its I/O helper
// threads (io-pool.ts, io-helper.ts): one job slot per descriptor head, a
// submission ring the owner fills and every copier (helpers, and the owner
// itself when it has nothing else to do) claims from, and a completion ring
// the copiers fill and only the owner drains. No message ever travels: a
// thread that sleeps in Atomics.wait could not take one.
//
// A job is one IN or OUT request whose chain the owner has already popped
// and validated: a direction, a file offset, and up to MAX_JOB_VIEWS
// (guest address, length) pieces. Copiers touch nothing else of the guest:
// the owner writes the status byte and pushes the used entry when the job
// comes back, so used.idx never shows a request before its data is in place.
//
// Both rings have a power-of-two capacity of at least the slot count, and a
// head has at most one job in flight, so an entry is never overwritten
// before it was read (submission) or drained (completion).

/** Pieces a pooled job can carry; a request with more runs on the owner. */
export const MAX_JOB_VIEWS = 32;

/** Float64 fields of a job slot. */
const JOB = { write: 0, pos: 1, nViews: 2, result: 3, views: 4 } as const;
const JOB_STRIDE = JOB.views + 2 * MAX_JOB_VIEWS;

/** Int32 words of the control area. */
const CTL = {
  /** Jobs the owner has published to the submission ring. */
  subPublished: 0,
  /** Jobs taken by a copier (claimed with compareExchange). */
  subClaimed: 1,
  /** Helpers about to sleep or asleep on `work`. */
  sleepers: 2,
  /** Futex word the helpers sleep on. */
  work: 3,
  /** Completion entries handed out to copiers. */
  compReserved: 4,
  /** Futex word the owner sleeps on while jobs are in flight. */
  done: 5,
  /** 1 while the owner is about to sleep or asleep on `done`. */
  ownerSleeping: 6,
  /** Set by the owner: helpers leave their loop. */
  stop: 7,
  /** Helpers that have left their loop for good. */
  exited: 8,
  size: 16,
} as const;

/** Everything a helper needs: postMessage-able. */
export interface IoJobBuffers {
  jobs: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Submission ring then completion ring, `capacity` Int32 each. */
  rings: SharedArrayBuffer;
  capacity: number;
}

export function createIoJobBuffers(slots: number): IoJobBuffers {
  let capacity = 1;
  while (capacity < slots) capacity *= 2;
  return {
    jobs: new SharedArrayBuffer(slots * JOB_STRIDE * 8),
    control: new SharedArrayBuffer(CTL.size * 4),
    rings: new SharedArrayBuffer(2 * capacity * 4),
    capacity,
  };
}

/** A host error as the owner reports it: the errno name (EIO, ENOSPC, ...) when there is one. */
export type JobResult = 0 | number;

/** Views of the shared job memory, with the ring operations of both sides. */
export class IoJobs {
  declare readonly f64: Float64Array;
  declare readonly ctl: Int32Array;
  declare private readonly sub: Int32Array;
  declare private readonly comp: Int32Array;
  declare private readonly mask: number;
  /** Owner only: the next completion entry to drain. */
  private compNext = 0;

  constructor(b: IoJobBuffers) {
    this.f64 = new Float64Array(b.jobs);
    this.ctl = new Int32Array(b.control);
    this.sub = new Int32Array(b.rings, 0, b.capacity);
    this.comp = new Int32Array(b.rings, b.capacity * 4, b.capacity);
    this.mask = b.capacity - 1;
  }

  // ---- owner side ----

  /** Fill slot `head` with a job (the views are guest byte ranges). */
  setJob(head: number, write: boolean, pos: number, views: readonly Uint8Array[], n: number): void {
    const f = this.f64;
    const at = head * JOB_STRIDE;
    f[at + JOB.write] = write ? 1 : 0;
    f[at + JOB.pos] = pos;
    f[at + JOB.nViews] = n;
    f[at + JOB.result] = 0;
    for (let i = 0; i < n; i++) {
      f[at + JOB.views + 2 * i] = views[i].byteOffset;
      f[at + JOB.views + 2 * i + 1] = views[i].length;
    }
  }

  /** Publish slot `head` to the copiers; wake one if any sleeps. */
  submit(head: number): void {
    const c = this.ctl;
    const p = c[CTL.subPublished];
    Atomics.store(this.sub, p & this.mask, head);
    Atomics.store(c, CTL.subPublished, (p + 1) | 0);
    if (Atomics.load(c, CTL.sleepers) > 0) {
      Atomics.add(c, CTL.work, 1);
      Atomics.notify(c, CTL.work, 1);
    }
  }

  /** The next finished job's head, or -1. */
  nextDone(): number {
    const at = this.compNext & this.mask;
    const v = Atomics.load(this.comp, at);
    if (v === 0) return -1;
    this.comp[at] = 0;
    this.compNext = (this.compNext + 1) | 0;
    return v - 1;
  }

  /** 0, or the host error's errno (negative) / -1 when it had none. */
  result(head: number): JobResult {
    return this.f64[head * JOB_STRIDE + JOB.result];
  }

  /** Sleep until a copier finishes a job or `ms` pass. Call with jobs in flight only. */
  waitDone(ms: number): void {
    const c = this.ctl;
    const seen = Atomics.load(c, CTL.done);
    Atomics.store(c, CTL.ownerSleeping, 1);
    if (Atomics.load(this.comp, this.compNext & this.mask) === 0)
      Atomics.wait(c, CTL.done, seen, ms);
    Atomics.store(c, CTL.ownerSleeping, 0);
  }

  /** Ask the helpers to leave, and wake them all. */
  requestStop(): void {
    Atomics.store(this.ctl, CTL.stop, 1);
    Atomics.add(this.ctl, CTL.work, 1);
    Atomics.notify(this.ctl, CTL.work);
  }

  /** Wait until `helpers` have left their loop (false after `ms`). */
  waitExited(helpers: number, ms: number): boolean {
    const until = performance.now() + ms;
    for (;;) {
      const n = Atomics.load(this.ctl, CTL.exited);
      if (n >= helpers) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctl, CTL.exited, n, left);
    }
  }

  // ---- copier side (helpers, and the owner when idle) ----

  /** Claim the next published job: its head, or -1 when none waits. */
  claim(): number {
    const c = this.ctl;
    for (;;) {
      const k = Atomics.load(c, CTL.subClaimed);
      if (k === Atomics.load(c, CTL.subPublished)) return -1;
      if (Atomics.compareExchange(c, CTL.subClaimed, k, (k + 1) | 0) === k)
        return Atomics.load(this.sub, k & this.mask);
    }
  }

  /** Run job `head` with `io` (one call per piece), record the outcome, hand it back. */
  run(head: number, io: (write: boolean, gpa: number, len: number, pos: number) => void): void {
    const f = this.f64;
    const at = head * JOB_STRIDE;
    let result = 0;
    try {
      const write = f[at + JOB.write] === 1;
      let pos = f[at + JOB.pos];
      for (let i = 0, n = f[at + JOB.nViews]; i < n; i++) {
        const len = f[at + JOB.views + 2 * i + 1];
        io(write, f[at + JOB.views + 2 * i], len, pos);
        pos += len;
      }
    } catch (e) {
      const errno = (e as { errno?: unknown }).errno;
      result = typeof errno === 'number' && errno < 0 ? errno : -1;
    }
    f[at + JOB.result] = result;
    this.complete(head);
  }

  private complete(head: number): void {
    const c = this.ctl;
    const r = Atomics.add(c, CTL.compReserved, 1);
    Atomics.store(this.comp, r & this.mask, head + 1);
    Atomics.add(c, CTL.done, 1);
    if (Atomics.load(c, CTL.ownerSleeping) !== 0) Atomics.notify(c, CTL.done, 1);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.ctl, CTL.stop) !== 0;
  }

  /** Helper: sleep until a job is published or stop is asked (or `ms` pass). */
  waitWork(ms: number): void {
    const c = this.ctl;
    Atomics.add(c, CTL.sleepers, 1);
    const seen = Atomics.load(c, CTL.work);
    const idle =
      Atomics.load(c, CTL.subClaimed) === Atomics.load(c, CTL.subPublished) && !this.stopRequested;
    if (idle) Atomics.wait(c, CTL.work, seen, ms);
    Atomics.sub(c, CTL.sleepers, 1);
  }

  /** Jobs published and not yet claimed (a hint: copiers race for them). */
  get unclaimed(): number {
    return (Atomics.load(this.ctl, CTL.subPublished) - Atomics.load(this.ctl, CTL.subClaimed)) | 0;
  }

  /** Helper: say this thread has left its loop. */
  markExited(): void {
    Atomics.add(this.ctl, CTL.exited, 1);
    Atomics.notify(this.ctl, CTL.exited);
  }
}
