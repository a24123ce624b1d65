// The fuzzers' only source of randomness: sfc32 (Chris Doty-Humphrey's Small
// Fast Chaotic PRNG, 128-bit state, passes PractRand), seeded from the run's
// seed and the iteration number. Math.random would make nothing replayable;
// a per-iteration seed makes one iteration replayable without its
// predecessors (`--start I --iterations 1`).

/** splitmix32-style finaliser: spreads (seed, stream, index) over all 32 bits. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** A stable 32-bit id for a target name, so targets draw independent streams. */
export function streamOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const TWO_32 = 4294967296;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0, index = 0) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(stream + 0x632be5ab);
    this.c = mix32(index ^ 0x85ebca6b);
    this.d = 1; // sfc32's counter
    // sfc32 needs a few rounds before nearby seeds diverge.
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform-enough integer in [0, n) for n <= 2^32 (bias below 2^-20 for the n used here). */
  int(n: number): number {
    return Math.floor((this.u32() / TWO_32) * n);
  }

  /** Integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() < p * TWO_32;
  }

  bool(): boolean {
    return (this.u32() & 1) === 1;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Index i with probability weights[i] / sum(weights). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.u32() * (total / TWO_32);
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  fill(bytes: Uint8Array, from = 0, to = bytes.length): void {
    let i = from;
    for (; i + 4 <= to; i += 4) {
      const x = this.u32();
      bytes[i] = x;
      bytes[i + 1] = x >>> 8;
      bytes[i + 2] = x >>> 16;
      bytes[i + 3] = x >>> 24;
    }
    for (; i < to; i++) bytes[i] = this.u32();
  }
}
