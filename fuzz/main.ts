// `pnpm fuzz [target...] [--seed S] [--iterations N] [--time-ms T]
//            [--start I] [--inject FAULT] [--list] [--stats]`
// Runs each target for N iterations (default 20000) or T ms per target,
// whichever ends first. The seed comes first in the output, every failure
// ends with a one-line replay command, and the last line is the summary CI
// reads. Exit status 1 on any failure, 2 on a bad command line.
import { runTarget, type TargetResult } from './lib/runner.ts';
import { TARGETS } from './targets/index.ts';

const USAGE =
  'usage: pnpm fuzz [target...] [--seed S] [--iterations N] [--time-ms T] [--start I] [--inject FAULT] [--list] [--stats]';

interface Args {
  names: string[];
  seed: number;
  iterations?: number;
  timeMs?: number;
  start: number;
  inject?: string;
  list: boolean;
  stats: boolean;
}

function fail(msg: string): never {
  console.error(`fuzz: ${msg}\n${USAGE}`);
  process.exit(2);
}

function count(flag: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER): number {
  const n = v !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > max) fail(`${flag} needs an integer in 0..${max}`);
  return n;
}

function parse(argv: string[]): Args {
  const a: Args = { names: [], seed: -1, start: 0, list: false, stats: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i];
    if (arg === '--seed') a.seed = count(arg, value(), 0xffffffff);
    else if (arg === '--iterations') a.iterations = count(arg, value());
    else if (arg === '--time-ms') a.timeMs = count(arg, value());
    else if (arg === '--start') a.start = count(arg, value());
    else if (arg === '--inject') a.inject = value() ?? fail('--inject needs a fault name');
    else if (arg === '--list') a.list = true;
    else if (arg === '--stats') a.stats = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('-')) fail(`unknown option ${arg}`);
    else a.names.push(arg);
  }
  // A fresh seed from the OS, printed first: any run can be replayed from its output.
  if (a.seed < 0) a.seed = crypto.getRandomValues(new Uint32Array(1))[0];
  if (a.iterations === undefined && a.timeMs === undefined) a.iterations = 20_000;
  return a;
}

function main(): void {
  const args = parse(process.argv.slice(2));
  if (args.list) {
    for (const t of TARGETS) {
      const faults = t.injections?.length ? ` [--inject ${t.injections.join('|')}]` : '';
      console.log(`${t.name.padEnd(20)} ${t.about}${faults}`);
    }
    return;
  }
  const unknown = args.names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length > 0) fail(`no target ${unknown.join(', ')} (see --list)`);
  const chosen = args.names.length ? TARGETS.filter((t) => args.names.includes(t.name)) : TARGETS;
  if (args.inject && chosen.length !== 1) fail('--inject needs exactly one target');
  console.log(`fuzz: seed ${args.seed}`);
  const results: TargetResult[] = [];
  for (const t of chosen) {
    if (args.inject && !t.injections?.includes(args.inject))
      fail(`${t.name} has no fault ${args.inject} (see --list)`);
    const r = runTarget(t, {
      seed: args.seed,
      start: args.start,
      iterations: args.iterations,
      timeMs: args.timeMs,
      inject: args.inject,
    });
    results.push(r);
    for (const f of r.failures) {
      console.log(`FAIL ${f.target} seed=${f.seed} iteration=${f.iteration}: ${f.message}`);
      if (f.stack) console.log(f.stack);
      console.log(`  replay: ${f.replay}`);
    }
    if (args.stats) for (const [k, v] of r.stats) console.log(`  ${r.target} ${k}: ${v}`);
  }
  for (const r of results) {
    const perSec = r.ms > 0 ? Math.round((r.iterations * 1000) / r.ms) : 0;
    console.log(
      `${r.target}: ${r.iterations} iterations in ${(r.ms / 1000).toFixed(2)} s, ${perSec} iterations/s, ${r.failures.length} failures`,
    );
  }
  const total = results.reduce((s, r) => s + r.iterations, 0);
  const failures = results.reduce((s, r) => s + r.failures.length, 0);
  console.log(`fuzz: ${total} iterations, ${results.length} targets, ${failures} failures`);
  process.exitCode = failures > 0 ? 1 : 0;
}

main();
