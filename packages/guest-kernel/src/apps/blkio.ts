// blkio: a scripted sequence of block operations on one disk, for tests and
// experiments. Steps run in order; a step written "!step" must fail (and
// says how). Exit 0 when every step did what it should, 1 at the first that
// did not.
//
//   info                    print size, serial, read-only, queues
//   write=OFF,LEN,SEED      write the blkverify pattern
//   check=OFF,LEN,SEED      read and compare with the pattern
//   zero=OFF,LEN            read and expect zeros
//   discard=OFF,LEN         DISCARD
//   zeroes=OFF,LEN          WRITE_ZEROES
//   flush                   FLUSH
import type { BlockHandle, IoBuffer } from '../block/handle.ts';
import type { Sys } from '../syscalls.ts';
import type { AppSpec } from './app.ts';
import { parseBytes } from './blk-args.ts';
import { checkPattern, fillPattern } from './blk-pattern.ts';

interface Step {
  text: string;
  op: string;
  args: number[];
  mustFail: boolean;
}

const ARITY: Record<string, number> = {
  info: 0,
  flush: 0,
  write: 3,
  check: 3,
  zero: 2,
  discard: 2,
  zeroes: 2,
};

function parseStep(word: string): Step | string {
  const mustFail = word.startsWith('!');
  const body = mustFail ? word.slice(1) : word;
  const [op, list] = body.split('=', 2);
  const arity = ARITY[op];
  if (arity === undefined)
    return `unknown step "${word}" (steps: ${Object.keys(ARITY).join(', ')})`;
  const parts = list === undefined ? [] : list.split(',');
  if (parts.length !== arity) return `${op} takes ${arity} numbers, got "${word}"`;
  const args = parts.map((p) => parseBytes(p));
  if (args.some((a) => a === null)) return `"${word}": not a number or size`;
  return { text: word, op, args: args as number[], mustFail };
}

function steps(argv: readonly string[]): Step[] | string {
  if (argv.length < 2) return 'name the disk and at least one step';
  const out: Step[] = [];
  for (const w of argv.slice(1)) {
    const s = parseStep(w);
    if (typeof s === 'string') return s;
    out.push(s);
  }
  return out;
}

async function transfer(disk: BlockHandle, buf: IoBuffer, s: Step): Promise<string | null> {
  const [off, len, seed] = s.args;
  if (s.op === 'write') {
    for (let done = 0; done < len; done += buf.length) {
      const n = Math.min(buf.length, len - done);
      fillPattern(buf.bytes.subarray(0, n), seed, off + done);
      await disk.write(buf, off + done, n);
    }
    return null;
  }
  for (let done = 0; done < len; done += buf.length) {
    const n = Math.min(buf.length, len - done);
    buf.bytes.fill(0xee, 0, n);
    await disk.read(buf, off + done, n);
    const view = buf.bytes.subarray(0, n);
    const bad =
      s.op === 'check' ? checkPattern(view, seed, off + done) : view.findIndex((b) => b !== 0);
    if (bad >= 0) return `mismatch at byte ${off + done + bad}`;
  }
  return null;
}

async function run(sys: Sys, disk: BlockHandle, buf: IoBuffer, s: Step): Promise<string | null> {
  switch (s.op) {
    case 'info':
      sys.print(
        `blkio: ${disk.name}: ${disk.sizeBytes} bytes, serial "${disk.serial}", ${disk.readOnly ? 'read-only' : 'read-write'}`,
      );
      return null;
    case 'flush':
      await disk.flush();
      return null;
    case 'discard':
      await disk.discard(s.args[0], s.args[1]);
      return null;
    case 'zeroes':
      await disk.writeZeroes(s.args[0], s.args[1]);
      return null;
    default:
      return transfer(disk, buf, s);
  }
}

export const blkio: AppSpec = {
  name: 'blkio',
  usage:
    'blkio <disk> <step>... (info, flush, write=OFF,LEN,SEED, check=OFF,LEN,SEED, zero=OFF,LEN, discard=OFF,LEN, zeroes=OFF,LEN; "!step" must fail)',
  about: 'run block operations in order and check what they do',
  check: (argv) => {
    const s = steps(argv);
    return typeof s === 'string' ? s : null;
  },
  async main(sys, argv) {
    const list = steps(argv) as Step[];
    const disk = sys.blk.open(argv[0]);
    const buf = sys.allocBuffer(256 * 1024);
    try {
      for (const [i, s] of list.entries()) {
        let failure: string | null;
        try {
          failure = await run(sys, disk, buf, s);
        } catch (e) {
          failure = e instanceof Error ? e.message : String(e);
        }
        if (s.mustFail && failure !== null) {
          sys.print(`blkio: step ${i} ${s.text}: failed as expected: ${failure}`);
        } else if (s.mustFail) {
          sys.print(`blkio: step ${i} ${s.text}: succeeded but should have failed`);
          return 1;
        } else if (failure !== null) {
          sys.print(`blkio: step ${i} ${s.text}: FAILED: ${failure}`);
          return 1;
        } else {
          sys.print(`blkio: step ${i} ${s.text}: ok`);
        }
      }
      return 0;
    } finally {
      buf.free();
    }
  },
};
