// `pvkit bench ...`: the benchmark harness (bench/main.ts) in a child Node
// process with the same loader, stdio passed through: tables and progress on
// stderr, the JSON document on stdout, its exit code ours.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HostError } from './errors.ts';

/** bench/main.ts of the checkout this CLI runs from. */
export const BENCH_MAIN = fileURLToPath(new URL('../../../../bench/main.ts', import.meta.url));

export async function benchCommand(argv: string[]): Promise<number> {
  if (!existsSync(BENCH_MAIN))
    throw new HostError(
      `benchmarks are not installed here (no ${BENCH_MAIN}); run pvkit bench from a clone of the pvkit repository`,
    );
  // A .ts entry needs the loader this process runs with (`--import tsx`).
  const loader = process.execArgv.includes('tsx') ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...process.execArgv, ...loader, BENCH_MAIN, ...argv], {
    stdio: 'inherit',
  });
  const forward = () => child.kill('SIGINT');
  process.on('SIGINT', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e) =>
        reject(new HostError(`cannot start the benchmarks: ${e.message}`)),
      );
      child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 3)));
    });
  } finally {
    process.off('SIGINT', forward);
  }
}
