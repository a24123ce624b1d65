// blkbench: fio in miniature. Keeps `qd` reads or writes of `bs` bytes in
// flight on one disk (sequential, or at random block-aligned offsets), for
// `time` seconds or `size` bytes, and reports MB/s (10^6 bytes/s), IOPS and
// latency percentiles. The last line is the same figures as JSON, for
// `pnpm bench blk`.
import type { BlockIo } from '../block/request-queue.ts';
import type { AppSpec } from './app.ts';
import { numberOpt, type ParsedArgs, parseArgs, sizeOpt } from './blk-args.ts';

const KEYS = ['bs', 'qd', 'size', 'time', 'warmup', 'span', 'seed'];
const MAX_SAMPLES = 1 << 20;

interface Plan {
  disk: string;
  seq: boolean;
  write: boolean;
  bs: number;
  qd: number;
  /** Stop after this many bytes (0: by time). */
  size: number;
  /** Stop after this many seconds (when size is 0). */
  time: number;
  warmup: number;
  /** Bytes of the disk used, from 0 (0: all of it). */
  span: number;
  seed: number;
}

function plan(argv: readonly string[]): Plan | string {
  const p: ParsedArgs | string = parseArgs(argv, KEYS);
  if (typeof p === 'string') return p;
  const [disk, pattern, rw, ...rest] = p.words;
  if (disk === undefined) return 'name the disk, e.g. "vda"';
  if (pattern !== 'seq' && pattern !== 'rand') return 'second word must be "seq" or "rand"';
  if (rw !== 'read' && rw !== 'write') return 'third word must be "read" or "write"';
  if (rest.length > 0) return `unexpected "${rest[0]}"`;
  const bs = sizeOpt(p, 'bs', 4096);
  const qd = numberOpt(p, 'qd', 1);
  const size = sizeOpt(p, 'size', 0, 512, 0);
  const time = numberOpt(p, 'time', 1);
  const warmup = p.opts.has('warmup') ? numberOpt(p, 'warmup', 0) : 0;
  const span = sizeOpt(p, 'span', 0, 512, 0);
  const seed = numberOpt(p, 'seed', 1);
  for (const v of [bs, qd, size, time, warmup, span, seed]) if (typeof v === 'string') return v;
  if (!Number.isInteger(qd) || (qd as number) > 1024) return `qd=${qd}: an integer in 1..1024`;
  return {
    disk,
    seq: pattern === 'seq',
    write: rw === 'write',
    bs: bs as number,
    qd: qd as number,
    size: size as number,
    time: time as number,
    warmup: warmup as number,
    span: span as number,
    seed: seed as number,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const blkbench: AppSpec = {
  name: 'blkbench',
  usage:
    'blkbench <disk> seq|rand read|write [bs=4k] [qd=1] [size=BYTES | time=SECONDS] [warmup=S] [span=BYTES] [seed=N]',
  about: 'keep qd reads or writes in flight; report MB/s, IOPS and latency p50/p99',
  check: (argv) => {
    const p = plan(argv);
    return typeof p === 'string' ? p : null;
  },
  async main(sys, argv) {
    const p = plan(argv) as Plan;
    const disk = sys.blk.open(p.disk);
    const span = Math.min(p.span || disk.sizeBytes, disk.sizeBytes);
    const blocks = Math.floor(span / p.bs);
    if (blocks === 0) {
      sys.print(`blkbench: ${p.disk} (${disk.sizeBytes} bytes) holds no block of ${p.bs}`);
      return 2;
    }
    disk.queueDepth = Math.max(disk.queueDepth, p.qd);
    const bufs = Array.from({ length: p.qd }, () => sys.allocBuffer(p.bs));
    for (const b of bufs) b.bytes.fill(0x5a);
    let cursor = 0;
    let x = (p.seed * 2654435761) >>> 0 || 1;
    const nextOffset = () => {
      if (p.seq) {
        const b = cursor;
        cursor = (cursor + 1) % blocks;
        return b * p.bs;
      }
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return (x % blocks) * p.bs;
    };
    const op = p.write ? 'write' : 'read';
    const lat = new Float64Array(MAX_SAMPLES);
    let samples = 0;
    let ops = 0;
    let submitted = 0;
    const t0 = sys.now();
    const measureFrom = t0 + p.warmup * 1000;
    const stopAt = p.size > 0 ? Infinity : measureFrom + p.time * 1000;
    let last = measureFrom;
    const more = () => (p.size > 0 ? submitted * p.bs < p.size : sys.now() < stopAt);
    try {
      for (let i = 0; i < p.qd && more(); i++, submitted++)
        disk.submit(op, bufs[i], nextOffset(), p.bs, 0, i);
      while (disk.inFlight > 0) {
        const done: BlockIo[] = await disk.reap();
        const now = sys.now();
        const timeLeft = p.size > 0 || now < stopAt;
        for (const io of done) {
          if (io.error) {
            sys.print(`blkbench: ${op} at ${io.offset} failed: ${io.error.message}`);
            return 1;
          }
          if (now >= measureFrom) {
            last = now;
            ops++;
            lat[samples++ & (MAX_SAMPLES - 1)] = (io.completedNs - io.submittedNs) / 1000;
          }
          if (timeLeft && (p.size === 0 || submitted * p.bs < p.size)) {
            disk.submit(op, bufs[io.tag], nextOffset(), p.bs, 0, io.tag);
            submitted++;
          }
        }
      }
    } finally {
      for (const b of bufs) b.free();
    }
    // From the end of the warm-up to the last completion counted.
    const seconds = Math.max(1e-9, (last - measureFrom) / 1000);
    const sorted = lat.slice(0, Math.min(samples, MAX_SAMPLES)).sort();
    const r = {
      disk: p.disk,
      pattern: p.seq ? 'seq' : 'rand',
      rw: op,
      bs: p.bs,
      qd: p.qd,
      ios: ops,
      seconds,
      mbps: (ops * p.bs) / 1e6 / seconds,
      iops: ops / seconds,
      p50us: percentile(sorted, 50),
      p99us: percentile(sorted, 99),
    };
    sys.print(
      `blkbench: ${r.disk} ${r.pattern} ${r.rw} bs=${r.bs} qd=${r.qd}: ${r.mbps.toFixed(1)} MB/s, ${r.iops.toFixed(0)} IOPS, ` +
        `latency p50 ${r.p50us.toFixed(1)} us p99 ${r.p99us.toFixed(1)} us (${r.ios} ios in ${r.seconds.toFixed(3)} s)`,
    );
    sys.print(`blkbench-json ${JSON.stringify(r)}`);
    return 0;
  },
};
