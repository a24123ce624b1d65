// CI's bounded fuzz run: every target for ~20k iterations with a fixed
// seed, no failures. Then the harness itself: a planted bug is caught with
// a seed and a replay command that reproduces it, episodes replay from
// their start, the same seed gives the same run, and the CLI prints what
// CI and people read (seed first, replay lines, the summary last).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { check, type FuzzTarget, runTarget } from './lib/runner.ts';
import { TARGETS } from './targets/index.ts';
import { virtqueueDevice } from './targets/virtqueue-device.ts';

const SEED = 20260607;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ~20k each; measured on this 2-core machine under load (see README).
const SMOKE: Record<string, number> = {
  'virtqueue-device': 20_000,
  'virtqueue-diff': 20_000,
  'blk-request': 20_000,
  'net-tx': 20_000,
  hypercall: 20_000,
};

describe('fuzz smoke (fixed seed)', () => {
  test('every target has a smoke budget', () => {
    expect(TARGETS.map((t) => t.name).sort()).toEqual(Object.keys(SMOKE).sort());
  });
  for (const t of TARGETS) {
    test(`${t.name}: no failures`, { timeout: 120_000 }, () => {
      const n = SMOKE[t.name] ?? 0;
      const r = runTarget(t, { seed: SEED, iterations: n });
      expect(r.failures.map((f) => `${f.message}\n  ${f.replay}`)).toEqual([]);
      expect(r.iterations).toBe(n);
    });
  }
});

describe('the harness', () => {
  test('a planted off-by-one write is caught, and its replay reproduces it', () => {
    const run = runTarget(virtqueueDevice, {
      seed: SEED,
      iterations: 2000,
      inject: 'off-by-one',
      maxFailures: 1,
    });
    expect(run.failures).toHaveLength(1);
    const f = run.failures[0];
    expect(f.message).toMatch(/guest byte \d+.* is \d+, expected \d+|past the end of guest memory/);
    expect(f.replay).toBe(
      `pnpm fuzz virtqueue-device --seed ${SEED} --start ${f.iteration} --iterations 1 --inject off-by-one`,
    );
    const again = runTarget(virtqueueDevice, {
      seed: SEED,
      start: f.iteration,
      iterations: 1,
      inject: 'off-by-one',
    });
    expect(again.failures.map((x) => [x.iteration, x.message])).toEqual([[f.iteration, f.message]]);
    // The same iteration without the planted bug passes: the failure was the bug's.
    expect(
      runTarget(virtqueueDevice, { seed: SEED, start: f.iteration, iterations: 1 }).failures,
    ).toEqual([]);
  });

  test('an episode replays from its first iteration', () => {
    // Fails at the 3rd iteration of an episode only when the two before it ran.
    const seen: number[] = [];
    const target: FuzzTarget = {
      name: 'episodic',
      about: 'test',
      episode: 4,
      prepare: () => (rng, i, fresh) => {
        if (fresh) seen.length = 0;
        seen.push(rng.u32());
        check(!(i === 10 && seen.length === 3), `state of ${seen.length} at ${i}`);
      },
    };
    const run = runTarget(target, { seed: 1, iterations: 16 });
    expect(run.failures.map((f) => [f.iteration, f.replay])).toEqual([
      [10, 'pnpm fuzz episodic --seed 1 --start 8 --iterations 3'],
    ]);
    expect(run.iterations).toBe(15); // the rest of the failed episode is skipped
    expect(runTarget(target, { seed: 1, start: 8, iterations: 3 }).failures).toHaveLength(1);
    expect(runTarget(target, { seed: 1, start: 10, iterations: 1 }).failures).toHaveLength(1);
  });

  test('the same seed gives the same run; another seed another', () => {
    for (const t of TARGETS) {
      const a = runTarget(t, { seed: SEED, iterations: 300 }).stats;
      expect(runTarget(t, { seed: SEED, iterations: 300 }).stats, t.name).toEqual(a);
      expect(runTarget(t, { seed: SEED + 1, iterations: 300 }).stats, t.name).not.toEqual(a);
    }
  });

  test('the CLI: seed first, a replay line per failure, the summary last, exit status', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'fuzz/main.ts', ...args], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const bad = cli(
      'virtqueue-device',
      '--seed',
      String(SEED),
      '--iterations',
      '400',
      '--inject',
      'off-by-one',
    );
    const lines = bad.stdout.trim().split('\n');
    expect(bad.status).toBe(1);
    expect(lines[0]).toBe(`fuzz: seed ${SEED}`);
    expect(lines.at(-1)).toMatch(/^fuzz: \d+ iterations, 1 targets, [1-9]\d* failures$/);
    expect(lines.at(-2)).toMatch(
      /^virtqueue-device: \d+ iterations in [\d.]+ s, \d+ iterations\/s, /,
    );
    const fail = lines.find((l) => l.startsWith('FAIL virtqueue-device'));
    const replay = lines.find((l) => l.startsWith('  replay: pnpm fuzz '));
    expect(fail).toMatch(new RegExp(`^FAIL virtqueue-device seed=${SEED} iteration=\\d+: `));
    const again = cli(...(replay ?? '').replace('  replay: pnpm fuzz ', '').split(' '));
    expect(again.status).toBe(1);
    expect(again.stdout).toContain(fail);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(
      'fuzz: 1 iterations, 1 targets, 1 failures',
    );

    const good = cli('hypercall', '--seed', '5', '--iterations', '128');
    expect(good.status).toBe(0);
    expect(good.stdout.trim().split('\n').at(-1)).toBe(
      'fuzz: 128 iterations, 1 targets, 0 failures',
    );
    expect(cli('no-such-target').status).toBe(2);
  });
});
