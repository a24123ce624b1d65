// Latency percentiles in bounded memory: a log-scale histogram (buckets 1%
// wide), so a trace of any length costs a fixed ~18 KB per call. Reported
// percentiles are within 1% of the exact value; count, total and max are exact.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Enough buckets for 2^32 ns (a trace record's duration saturates there). */
const BUCKETS = Math.ceil(Math.log(2 ** 32) / LOG_GROWTH) + 2;

export class Histogram {
  count = 0;
  total = 0;
  max = 0;
  private readonly buckets = new Float64Array(BUCKETS);

  add(v: number): void {
    this.count++;
    this.total += v;
    if (v > this.max) this.max = v;
    this.buckets[v < 1 ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(v) / LOG_GROWTH))]++;
  }

  /** The value at quantile q (0..1): the upper edge of the bucket that holds it, capped at max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.buckets[b];
      if (seen >= rank) return b === 0 ? Math.min(1, this.max) : Math.min(GROWTH ** b, this.max);
    }
    return this.max;
  }
}
