#!/usr/bin/env node
// Machine instructions per chain of bench/ring/hotpath.ts's cases, counted
// by valgrind: exact and repeatable, where timing on this VM moves by 2x
// between minutes. Use it to A/B a change to either half of the ring.
//   node bench/ring/count-instructions.mjs [cases, default driver,device] [batch, default 64]
// How: hotpath.ts bundled by esbuild (tsx's loader thread would add noise),
// run under `node --predictable` (no concurrent compilation, so V8 makes
// the same decisions every time) for 5 and for 15 rounds; the difference,
// divided by 10 rounds of chains, is what one chain costs in steady state.
// Needs valgrind (Debian: apt install valgrind).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHAINS = 128_000;
const CASES = ['driver', 'device', 'both', 'plain']; // hotpath.ts's

function fail(msg) {
  process.stderr.write(`count-instructions: ${msg}\n`);
  process.exit(2);
}

const cases = (process.argv[2] ?? 'driver,device').split(',');
const batch = Number(process.argv[3] ?? 64);
for (const c of cases) if (!CASES.includes(c)) fail(`no case ${c} (cases: ${CASES.join(', ')})`);
if (!Number.isInteger(batch) || batch < 1 || CHAINS % batch !== 0)
  fail(`batch ${process.argv[3]}: want a divisor of ${CHAINS}`);
if (spawnSync('valgrind', ['--version']).status !== 0)
  fail('valgrind not found (Debian: apt install valgrind)');

// esbuild comes with tsx, our one way of running TypeScript.
const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))(
  'esbuild',
);
const dir = mkdtempSync(join(tmpdir(), 'pvkit-count-'));
const bundle = join(dir, 'hotpath.mjs');
const root = fileURLToPath(new URL('../..', import.meta.url));
esbuild.buildSync({
  entryPoints: [join(root, 'bench/ring/hotpath.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  tsconfig: join(root, 'tsconfig.json'),
  outfile: bundle,
  logLevel: 'warning',
});

/** Instructions valgrind counted over a whole run of `rounds` rounds of one case. */
function count(kase, rounds) {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      process.execPath,
    ].concat(['--predictable', bundle, String(rounds), kase]),
    {
      env: { ...process.env, HOTPATH_CHAINS: String(CHAINS), HOTPATH_BATCH: String(batch) },
      encoding: 'utf8',
    },
  );
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`valgrind on ${kase}: ${(r.stderr ?? '').slice(-500)}`);
  return Number(m[1].replaceAll(',', ''));
}

try {
  for (const kase of cases) {
    process.stderr.write(`${kase}-b${batch}: two runs under valgrind (about a minute)\n`);
    const perChain = (count(kase, 15) - count(kase, 5)) / (10 * CHAINS);
    console.log(`${`${kase}-b${batch}`.padEnd(10)} ${perChain.toFixed(0)} instructions/chain`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
