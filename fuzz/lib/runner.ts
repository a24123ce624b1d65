// What a fuzz target is, and the loop that runs one: per-iteration seeding,
// failure capture (any throw out of an iteration is a failure: the targets
// catch the exceptions their code under test documents), and the replay
// command that reproduces a failure on its own.
import { performance } from 'node:perf_hooks';
import { Rng, streamOf } from './rng.ts';
import { takeStats } from './stats.ts';

/** An invariant the code under test broke: the message says which, with the evidence. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantError';
  }
}

export function check(ok: boolean, message: string | (() => string)): asserts ok {
  if (!ok) throw new InvariantError(typeof message === 'string' ? message : message());
}

export interface TargetOptions {
  /** A fault to plant in the target's own device model (see `injections`): proves the checks bite. */
  inject?: string;
}

/**
 * One iteration. `fresh` is true at the start of each episode: build new
 * state then (an iteration may rely only on state built in its own episode).
 */
export type Iteration = (rng: Rng, iteration: number, fresh: boolean) => void;

export interface FuzzTarget {
  readonly name: string;
  /** One line for `--list` and the README. */
  readonly about: string;
  /** Iterations that share one state (default 1); a replay starts at an episode boundary. */
  readonly episode?: number;
  /** Faults `inject` accepts. */
  readonly injections?: readonly string[];
  /** Allocate what every iteration reuses; called once per run. */
  prepare(opts: TargetOptions): Iteration;
}

export interface RunOptions extends TargetOptions {
  seed: number;
  /** First iteration (an episode runs from its start, so this may run a few before it). */
  start?: number;
  iterations?: number;
  timeMs?: number;
  /** Stop the target after this many failures (default 10). */
  maxFailures?: number;
}

export interface FuzzFailure {
  target: string;
  seed: number;
  iteration: number;
  message: string;
  /** Where it was thrown, for anything but an InvariantError. */
  stack?: string;
  replay: string;
}

export interface TargetResult {
  target: string;
  iterations: number;
  ms: number;
  failures: FuzzFailure[];
  /** Coverage counters (lib/stats.ts) of this run. */
  stats: [string, number][];
}

export function replayCommand(
  target: string,
  seed: number,
  from: number,
  count: number,
  inject?: string,
): string {
  const extra = inject ? ` --inject ${inject}` : '';
  return `pnpm fuzz ${target} --seed ${seed} --start ${from} --iterations ${count}${extra}`;
}

function describeError(e: unknown): { message: string; stack?: string } {
  if (e instanceof InvariantError) return { message: e.message };
  if (e instanceof Error) {
    const frames = (e.stack ?? '').split('\n').slice(1, 6).join('\n');
    return { message: `uncaught ${e.name}: ${e.message}`, stack: frames };
  }
  return { message: `uncaught throw of ${String(e)}` };
}

export function runTarget(target: FuzzTarget, o: RunOptions): TargetResult {
  if (o.inject !== undefined && !target.injections?.includes(o.inject))
    throw new RangeError(`${target.name} has no injectable fault '${o.inject}'`);
  const episode = target.episode ?? 1;
  // A start inside an episode runs from the episode's first iteration, and
  // as many more as it takes to still reach the iterations asked for.
  const first = Math.floor((o.start ?? 0) / episode) * episode;
  const count = (o.iterations ?? Number.POSITIVE_INFINITY) + (o.start ?? 0) - first;
  const timeMs = o.timeMs ?? Number.POSITIVE_INFINITY;
  const maxFailures = o.maxFailures ?? 10;
  const stream = streamOf(target.name);
  const iterate = target.prepare({ inject: o.inject });
  takeStats();
  const failures: FuzzFailure[] = [];
  const t0 = performance.now();
  let executed = 0;
  let k = 0; // iterations past `first`, skipped ones included
  let episodeStart = first;
  while (k < count && failures.length < maxFailures) {
    const i = first + k;
    // Time is checked only between episodes, so a replayed episode runs whole.
    const fresh = k % episode === 0;
    if (fresh) {
      if (executed > 0 && performance.now() - t0 >= timeMs) break;
      episodeStart = i;
    }
    executed++;
    try {
      iterate(new Rng(o.seed, stream, i), i, fresh);
      k++;
    } catch (e) {
      failures.push({
        target: target.name,
        seed: o.seed,
        iteration: i,
        ...describeError(e),
        replay: replayCommand(target.name, o.seed, episodeStart, i - episodeStart + 1, o.inject),
      });
      // The rest of a failed episode would run on suspect state: start the next one.
      k = Math.ceil((k + 1) / episode) * episode;
    }
  }
  const ms = performance.now() - t0;
  return { target: target.name, iterations: executed, ms, failures, stats: takeStats() };
}
