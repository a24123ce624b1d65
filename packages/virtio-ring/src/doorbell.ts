// Doorbells: how one side of a queue wakes the other (a kick, or an
// interrupt) without postMessage. A doorbell is two Int32 words in shared
// memory, a ring count and a sleeper count, plus, on the waiting side, the
// last ring count it has seen.
//
// Ringing is an Atomics.add; the costly Atomics.notify happens only when
// the other side has announced that it may sleep. Waiting spins a bounded
// number of polls first (KVM's halt-polling: a sleeping thread costs tens
// of microseconds to wake here, a spinning one a few hundred nanoseconds),
// then sleeps in Atomics.wait with a timeout.

/**
 * Node 20's Atomics.wait occasionally sleeps through a notify (seen here
 * about once in 10^4..10^5 waits, the whole timeout lost; a C futex on the
 * same machine does not). So a doorbell sleeps in slices and re-checks the
 * ring count between them: the first slice is short, and each next one
 * twice as long up to WAIT_SLICE_MAX_MS. A lost wake-up soon after going
 * to sleep (the common case when busy) costs a fraction of a millisecond;
 * a long-idle side wakes 20 times a second.
 */
export const WAIT_SLICE_MIN_MS = 0.25;
export const WAIT_SLICE_MAX_MS = 50;

/** Int32 words one doorbell uses: [rings, sleepers]. */
export const DOORBELL_WORDS = 2;
/** Int32 words between doorbells that share one buffer: 128 bytes, so no two share a cache line. */
export const DOORBELL_STRIDE = 32;

export class Doorbell {
  declare readonly words: Int32Array;
  declare readonly index: number;
  /**
   * The ring count this side last consumed (waiting side only). It starts
   * at 0, not at the current count: a ring that happened before this side
   * was constructed is never lost (at worst one spurious wake-up).
   */
  private seen = 0;

  /** Use words[index] (ring count) and words[index + 1] (sleepers) of a shared Int32Array. */
  constructor(words: Int32Array, index = 0) {
    if (!(words.buffer instanceof SharedArrayBuffer))
      throw new TypeError('a doorbell needs an Int32Array over a SharedArrayBuffer');
    if (!Number.isInteger(index) || index < 0 || index + DOORBELL_WORDS > words.length)
      throw new RangeError(`doorbell index ${index} outside ${words.length} words`);
    this.words = words;
    this.index = index;
  }

  /** A doorbell in a fresh 128-byte SharedArrayBuffer (send `words` to the other side). */
  static create(): Doorbell {
    return new Doorbell(new Int32Array(new SharedArrayBuffer(DOORBELL_STRIDE * 4)));
  }

  /** `count` doorbells, 128 bytes apart, in one buffer: doorbell k uses index k * DOORBELL_STRIDE. */
  static createWords(count: number): Int32Array {
    return new Int32Array(new SharedArrayBuffer(Math.max(1, count) * DOORBELL_STRIDE * 4));
  }

  /** Wake the other side. */
  ring(): void {
    const w = this.words;
    const i = this.index;
    Atomics.add(w, i, 1);
    // Seq-cst add then load, against the waiter's add-then-wait: either we
    // see its sleeper count, or its Atomics.wait sees our new ring count.
    if (Atomics.load(w, i + 1) !== 0) Atomics.notify(w, i);
  }

  /** True (and consumed) if the doorbell rang since the last wait. Never blocks. */
  poll(): boolean {
    const v = Atomics.load(this.words, this.index);
    if (v === this.seen) return false;
    this.seen = v;
    return true;
  }

  /**
   * Wait for a ring: poll up to `spin` times, then sleep up to `timeoutMs`.
   * A ring that happened since the previous wait returns at once, so a
   * caller can re-check its queue, then wait, without losing a wake-up.
   * Returns false on timeout.
   */
  wait(spin: number, timeoutMs: number): boolean {
    const w = this.words;
    const i = this.index;
    const seen = this.seen;
    for (let k = 0; k < spin; k++) {
      const v = Atomics.load(w, i);
      if (v !== seen) {
        this.seen = v;
        return true;
      }
    }
    const deadline = performance.now() + timeoutMs;
    Atomics.add(w, i + 1, 1);
    try {
      // Whatever Atomics.wait returns (it can also wake for nothing), only a
      // new ring count or the deadline ends the wait.
      let slice = WAIT_SLICE_MIN_MS;
      for (let left = timeoutMs; left > 0; left = deadline - performance.now()) {
        Atomics.wait(w, i, seen, Math.min(left, slice));
        if (Atomics.load(w, i) !== seen) break;
        slice = Math.min(slice * 2, WAIT_SLICE_MAX_MS);
      }
    } finally {
      Atomics.sub(w, i + 1, 1);
    }
    return this.poll();
  }
}
