// Waiting on several doorbells at once, from a worker whose event loop must
// keep running (sockets, control messages). Atomics.wait blocks on one word
// only; Atomics.waitAsync waits on one word each but without blocking, so a
// net backend that has gone idle arms one waitAsync per tx doorbell and
// returns to its event loop: the first kick (or the timeout) wakes it.
//
// The doorbell protocol is kept as every other backend keeps it (see
// @pvkit/virtio-ring Doorbell): the waiter raises the sleepers word before it
// waits, so a guest's ring() calls Atomics.notify, which wakes async waiters
// as well. The caller follows the usual order against lost wake-ups:
//
//   snapshot()                the ring counts, before looking at the queues
//   enable notifications and re-check every queue; work found: do not sleep
//   arm()                     false when a doorbell moved since the snapshot
//
// A waitAsync costs ~60 µs to wake here (baselines), about what a sleeping
// Atomics.wait costs, so this is only for the idle path: while frames flow
// the backend polls.

export interface Bell {
  readonly words: Int32Array;
  readonly index: number;
}

export class MultiDoorbellWait {
  private bells: readonly Bell[] = [];
  private seen = new Int32Array(0);
  private epoch = 0;
  private armed = false;
  declare private readonly onWake: () => void;
  /** Times armed (the backend slept), and wake-ups by the timeout. */
  sleeps = 0;
  timeouts = 0;

  constructor(onWake: () => void) {
    this.onWake = onWake;
  }

  get sleeping(): boolean {
    return this.armed;
  }

  /** Record every doorbell's ring count (before the queues are re-checked). */
  snapshot(bells: readonly Bell[]): void {
    this.bells = bells;
    if (this.seen.length < bells.length) this.seen = new Int32Array(bells.length * 2);
    for (let i = 0; i < bells.length; i++)
      this.seen[i] = Atomics.load(bells[i].words, bells[i].index);
  }

  /**
   * Sleep until one of the snapshot's doorbells rings or `timeoutMs` passes,
   * then call onWake (from the event loop). False, and not armed, when one
   * rang since the snapshot: look at the queues again.
   */
  arm(timeoutMs: number): boolean {
    const bells = this.bells;
    const epoch = ++this.epoch;
    this.armed = true;
    for (let i = 0; i < bells.length; i++) {
      const { words, index } = bells[i];
      Atomics.add(words, index + 1, 1);
      const r = Atomics.waitAsync(words, index, this.seen[i], timeoutMs);
      if (!r.async) {
        this.release(i + 1);
        return false;
      }
      r.value.then((how) => this.fire(epoch, how));
    }
    this.sleeps++;
    return true;
  }

  /** Wake now (a control message arrived): onWake runs at once if armed. */
  wakeNow(): void {
    if (!this.armed) return;
    this.release(this.bells.length);
    this.onWake();
  }

  private fire(epoch: number, how: string): void {
    if (epoch !== this.epoch || !this.armed) return;
    if (how === 'timed-out') this.timeouts++;
    this.release(this.bells.length);
    this.onWake();
  }

  /** Undo the sleepers count of the first `n` bells and resolve our stale waiters. */
  private release(n: number): void {
    this.armed = false;
    this.epoch++;
    const bells = this.bells;
    for (let i = 0; i < n; i++) {
      const { words, index } = bells[i];
      Atomics.sub(words, index + 1, 1);
      // Only this backend waits on a tx doorbell word: this wakes our own
      // leftover waitAsync promises, which then find a stale epoch.
      Atomics.notify(words, index);
    }
  }
}
