// How long a waiting thread should poll before it sleeps, learned the way
// KVM's halt polling learns it (virt/kvm/kvm_main.c, grow/shrink_halt_poll_ns):
// polling is worth it only when the other side answers within the window.
//
//   the event came while polling          keep the window
//   slept, and the sleep was short        grow it (a longer poll would have
//                                         caught the event: no wake-up paid)
//   slept, and the sleep was long         shrink it (the poll was wasted CPU)
//
// On an idle host a busy queue ends up polling and never pays a wake-up; on
// an oversubscribed one, where the other thread may not even be running,
// polls fail, the window shrinks to nothing and the thread yields its CPU.

export interface HaltPollOptions {
  /** Largest window, µs (KVM's halt_poll_ns). */
  maxUs: number;
  /** First non-zero window when growing from 0, µs. */
  startUs?: number;
  /** Window at construction, µs (default startUs). */
  initialUs?: number;
}

export class HaltPoll {
  /** The current window, µs: poll this long, then sleep. */
  windowUs: number;
  readonly maxUs: number;
  readonly startUs: number;

  constructor(opts: HaltPollOptions) {
    if (!(opts.maxUs >= 0)) throw new RangeError(`halt poll max ${opts.maxUs} µs`);
    this.maxUs = opts.maxUs;
    this.startUs = Math.min(opts.startUs ?? 10, opts.maxUs);
    this.windowUs = Math.min(opts.initialUs ?? this.startUs, opts.maxUs);
  }

  /** The wait ended after sleeping `sleptUs` (it did not end while polling). */
  slept(sleptUs: number): void {
    if (sleptUs > this.maxUs) {
      // Polling longer would not have helped.
      this.windowUs = this.windowUs / 2 < this.startUs ? 0 : this.windowUs / 2;
    } else if (this.windowUs < this.maxUs) {
      this.windowUs = Math.min(this.maxUs, this.windowUs === 0 ? this.startUs : this.windowUs * 2);
    }
  }
}
