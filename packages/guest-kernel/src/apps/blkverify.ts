// blkverify: write a seeded pattern, flush, read it back and compare (exit 1
// on the first mismatch). With "check", only read and compare: the pattern
// was written before (by an earlier run, or by the host).
import type { AppSpec } from './app.ts';
import { numberOpt, type ParsedArgs, parseArgs, sizeOpt } from './blk-args.ts';
import { checkPattern, fillPattern } from './blk-pattern.ts';

const KEYS = ['seed', 'size', 'offset', 'bs'];

interface Plan {
  disk: string;
  check: boolean;
  seed: number;
  size: number;
  offset: number;
  bs: number;
}

function plan(argv: readonly string[]): Plan | string {
  const p: ParsedArgs | string = parseArgs(argv, KEYS);
  if (typeof p === 'string') return p;
  const [disk, mode, ...rest] = p.words;
  if (disk === undefined) return 'name the disk, e.g. "vda"';
  if (mode !== undefined && mode !== 'check') return `unknown word "${mode}" (only "check")`;
  if (rest.length > 0) return `unexpected "${rest[0]}"`;
  const seed = numberOpt(p, 'seed', 1);
  const size = sizeOpt(p, 'size', 1 << 20);
  const offset = sizeOpt(p, 'offset', 0, 512, 0);
  const bs = sizeOpt(p, 'bs', 64 * 1024);
  for (const v of [seed, size, offset, bs]) if (typeof v === 'string') return v;
  return {
    disk,
    check: mode === 'check',
    seed: seed as number,
    size: size as number,
    offset: offset as number,
    bs: Math.min(bs as number, size as number),
  };
}

export const blkverify: AppSpec = {
  name: 'blkverify',
  usage: 'blkverify <disk> [check] [seed=1] [size=1M] [offset=0] [bs=64k]',
  about: 'write a seeded pattern, flush, read back and compare (non-zero exit on mismatch)',
  check: (argv) => {
    const p = plan(argv);
    return typeof p === 'string' ? p : null;
  },
  async main(sys, argv) {
    const p = plan(argv) as Plan;
    const disk = sys.blk.open(p.disk);
    const buf = sys.allocBuffer(p.bs);
    try {
      if (!p.check) {
        for (let off = 0; off < p.size; off += p.bs) {
          const n = Math.min(p.bs, p.size - off);
          fillPattern(buf.bytes.subarray(0, n), p.seed, p.offset + off);
          await disk.write(buf, p.offset + off, n);
        }
        await disk.flush();
        sys.print(`blkverify: ${p.disk}: wrote and flushed ${p.size} bytes at ${p.offset}`);
      }
      for (let off = 0; off < p.size; off += p.bs) {
        const n = Math.min(p.bs, p.size - off);
        buf.bytes.fill(0, 0, n);
        await disk.read(buf, p.offset + off, n);
        const bad = checkPattern(buf.bytes.subarray(0, n), p.seed, p.offset + off);
        if (bad >= 0) {
          sys.print(`blkverify: ${p.disk}: MISMATCH at byte ${p.offset + off + bad}`);
          return 1;
        }
      }
      sys.print(`blkverify: ${p.disk}: ok, ${p.size} bytes at ${p.offset} match seed ${p.seed}`);
      return 0;
    } finally {
      buf.free();
    }
  },
};
