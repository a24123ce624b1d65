// `pvkit stat [--pid N] [--once] [--interval S]`: connect to a running VMM's
// control socket and show its per-domain rates, like xentop or kvm_stat.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expectPositionals, parseCommand, positiveNumber } from './args.ts';
import { ControlClient, controlSocketPath, findVmms, type Snapshot } from './control.ts';
import { EXIT, HostError, UsageError } from './errors.ts';
import { COMMANDS } from './help.ts';
import { LiveView } from './live.ts';
import { statTable } from './stat-table.ts';

const START_ONE = 'start one with `pnpm pvkit run <config.json>` and run pvkit stat beside it';

/** The control socket to use: --pid's, or the only one running. */
export function pickVmm(pidArg: string | undefined): { pid: number; path: string } {
  const running = findVmms();
  if (pidArg !== undefined) {
    const pid = Number(pidArg);
    if (!Number.isInteger(pid) || pid <= 0)
      throw new UsageError(`--pid takes a process id, got "${pidArg}"`);
    const found = running.find((v) => v.pid === pid);
    if (found) return found;
    const others = running.length
      ? `running: pids ${running.map((v) => v.pid).join(', ')}`
      : START_ONE;
    throw new HostError(
      `no pvkit VMM with pid ${pid} (${existsSync(controlSocketPath(pid)) ? 'its process has ended' : `no ${controlSocketPath(pid)}`}); ${others}`,
    );
  }
  if (running.length === 0)
    throw new HostError(
      `no running pvkit VMM found (no pvkit-<pid>.sock in ${tmpdir()}); ${START_ONE}`,
    );
  if (running.length > 1)
    throw new UsageError(
      `${running.length} pvkit VMMs are running (pids ${running.map((v) => v.pid).join(', ')}); pick one with --pid N`,
    );
  return running[0];
}

/** A client on `target`'s control socket; a HostError if the VMM cannot be reached. */
export async function connectVmm(target: { pid: number; path: string }): Promise<ControlClient> {
  try {
    return await ControlClient.connect(target.path);
  } catch (e) {
    // The socket file can outlive its process: say which VMM, and why, in one line.
    throw new HostError(
      `cannot reach the VMM of pid ${target.pid} at ${target.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is it still running?`,
    );
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function statCommand(argv: string[]): Promise<number> {
  const { usage } = COMMANDS.stat;
  const { values, positionals } = parseCommand(
    argv,
    { pid: { type: 'string' }, once: { type: 'boolean' }, interval: { type: 'string' } },
    usage,
  );
  expectPositionals(positionals, [], usage);
  const intervalMs = positiveNumber(values.interval, 'interval', 1) * 1000;
  const target = pickVmm(values.pid);
  const client = await connectVmm(target);
  const view = new LiveView(process.stdout);
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  try {
    let prev: Snapshot | null = await client.snapshot();
    while (prev && !stop) {
      await Promise.race([sleep(intervalMs), client.closed]);
      const cur = await client.snapshot();
      if (!cur) break;
      view.show(statTable(cur, prev));
      prev = cur;
      if (values.once) return EXIT.ok;
    }
    view.release();
    if (!stop) view.line(`pvkit stat: the VMM of pid ${target.pid} has exited`);
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    client.close();
  }
}
