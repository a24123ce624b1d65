// How long a waiting thread should poll before it sleeps, learned the way
// KVM's halt polling learns it (virt/kvm/kvm_main.c, grow/shrink_halt_poll_ns):
// polling is worth it only when the other side answers within the window.
//
//   the event came while polling          keep the window
//   slept, and the sleep was short        grow it (a longer poll would have
//                                         caught the event: no wake-up paid)
//   slept, and the sleep was long         shrink it (the poll was wasted CPU)
//   the poll was preempted                shrink it, stop polling at once
//
// KVM also stops polling when another task wants the CPU
// (single_task_running()). A JS thread cannot ask the run queue, but it can
// notice that it was descheduled: a gap in its own clock between two polls.
// On an idle host a busy queue ends up polling and never pays a wake-up; on
// an oversubscribed one, where polling only keeps the other side (and
// everyone else) off the CPU, the window shrinks to nothing and the thread
// sleeps, giving its CPU away.

export interface HaltPollOptions {
  /** Largest window, µs (KVM's halt_poll_ns). */
  maxUs: number;
  /** First non-zero window when growing from 0, µs. */
  startUs?: number;
  /** Window at construction, µs (default startUs). */
  initialUs?: number;
}

/** A gap this long between two looks at the clock means the thread was descheduled. */
const PREEMPTED_MS = 0.05;
/** How long the other side may show no progress before a poll gives up, µs. */
export const DEFAULT_STALL_US = 50;
/** Polls between two looks at the clock. */
const POLLS_PER_CLOCK = 64;

export class HaltPoll {
  /** The current window, µs: poll this long, then sleep. */
  declare windowUs: number;
  declare readonly maxUs: number;
  declare readonly startUs: number;
  /** Polls cut short because the thread was descheduled. */
  preempted = 0;
  /** Polls cut short because the other side made no progress. */
  stalled = 0;
  /** The last poll was preempted: the sleep after it says nothing about polling longer. */
  private cutShort = false;

  constructor(opts: HaltPollOptions) {
    if (!(opts.maxUs >= 0)) throw new RangeError(`halt poll max ${opts.maxUs} µs`);
    this.maxUs = opts.maxUs;
    this.startUs = Math.min(opts.startUs ?? 10, opts.maxUs);
    this.windowUs = Math.min(opts.initialUs ?? this.startUs, opts.maxUs);
  }

  /**
   * Call `ready` until it returns true (true) or the window is over (false).
   * A preemption ends the poll early and shrinks the window. So does a
   * `progress` counter of the other side (e.g. its used.idx) that stays
   * still for `stallUs`: the other side has work but is not running, most
   * likely because this thread holds the only CPU it could get.
   */
  poll(ready: () => boolean, progress?: () => number, stallUs = DEFAULT_STALL_US): boolean {
    if (this.windowUs <= 0) return false;
    let last = performance.now();
    const until = last + this.windowUs / 1000;
    let mark = progress ? progress() : 0;
    let markAt = last;
    for (;;) {
      for (let i = 0; i < POLLS_PER_CLOCK; i++) if (ready()) return true;
      const now = performance.now();
      if (now - last > PREEMPTED_MS) {
        this.preempted++;
        return this.cut();
      }
      if (progress) {
        const p = progress();
        if (p !== mark) {
          mark = p;
          markAt = now;
        } else if (now - markAt > stallUs / 1000) {
          this.stalled++;
          return this.cut();
        }
      }
      if (now >= until) return false;
      last = now;
    }
  }

  private cut(): false {
    this.cutShort = true;
    this.shrink();
    return false;
  }

  /** The wait ended after sleeping `sleptUs` (it did not end while polling). */
  slept(sleptUs: number): void {
    const cut = this.cutShort;
    this.cutShort = false;
    if (sleptUs > this.maxUs) this.shrink();
    else if (cut) return;
    else if (this.windowUs < this.maxUs)
      this.windowUs = Math.min(this.maxUs, this.windowUs === 0 ? this.startUs : this.windowUs * 2);
  }

  private shrink(): void {
    this.windowUs = this.windowUs / 2 < this.startUs ? 0 : this.windowUs / 2;
  }
}
