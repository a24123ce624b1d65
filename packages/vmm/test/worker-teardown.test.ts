// A Vmm makes the workers it starts compile on their own thread: Node 20 can
// abort the whole process when a worker ends while one of its TurboFan jobs
// runs on a helper thread (src/boot/worker-teardown.ts). V8's --trace-opt
// names each compile's mode, so a child process shows which one workers get.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const VMM = new URL('../src/index.ts', import.meta.url).pathname;

/** The mode V8 used to compile a hot function in a worker, after `setup` ran in the parent. */
function workerCompileMode(setup: string): string {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { Vmm } from ${JSON.stringify(VMM)};
    ${setup}
    const w = new Worker(\`
      function pvkitHot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * i; return s; }
      const a = new Float64Array(512); let t = 0;
      for (let k = 0; k < 20000; k++) t += pvkitHot(a);
      require('node:worker_threads').parentPort.postMessage(t);
    \`, { eval: true, execArgv: [] });
    w.once('message', () => void w.terminate());
  `;
  const r = spawnSync(
    process.execPath,
    ['--trace-opt', '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout
    .split('\n')
    .find((l) => l.includes('compiling method') && l.includes('pvkitHot'));
  expect(line, `no TurboFan compile of pvkitHot in:\n${r.stdout.slice(-2000)}`).toBeDefined();
  return /ConcurrencyMode::(\w+)/.exec(line ?? '')?.[1] ?? '';
}

describe('workers started by a Vmm process', () => {
  it('compile on their own thread once a Vmm exists', () => {
    expect(workerCompileMode('new Vmm();')).toBe('kSynchronous');
  });

  it('(control) compile on a helper thread by default, so the check above can fail', () => {
    expect(workerCompileMode('')).toBe('kConcurrent');
  });
});
