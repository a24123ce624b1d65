// `pvkit demo` (`pnpm demo`): two guests on a switch, each with a virtio-blk
// disk on a sparse temporary image and a virtio-net NIC. alpha verifies a
// pattern on its disk, pings beta and streams UDP to it; beta verifies its
// own disk and stays up answering. Then a table per domain. The guests and
// their app command lines are in demo-plan.ts. Temporary files go away at
// the end, on failure and on Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appCommandError } from '@pvkit/guest-kernel';
import { parseConfig } from '../config/schema.ts';
import { deviceBackendFor } from '../devices/registry.ts';
import type { Domain } from '../toolstack/domain.ts';
import '../devices/builtin.ts';
import { expectPositionals, parseCommand } from './args.ts';
import { ActivityMeter, progressLines, summaryLines } from './demo-meter.ts';
import { DEMO_DISK_SIZE, demoDomain, GUESTS, RESULT_LINES } from './demo-plan.ts';
import { EXIT } from './errors.ts';
import { LiveView } from './live.ts';
import { Session } from './session.ts';

const SAMPLE_MS = 20;
const EXITED_RE = /^app \d+ \((.*)\) exited with (-?\d+)$/;

/** Apps the kernel accepts; the others are skipped with a note. */
function runnable(cmds: string[], note: (s: string) => void): string[] {
  return cmds.filter((cmd) => {
    const err = appCommandError(cmd);
    if (err) note(`demo: skipping "${cmd}": ${err}`);
    return err === null;
  });
}

const appsEnded = (d: Domain, cmds: string[]) =>
  cmds.every((cmd) => d.consoleLog.some((l) => EXITED_RE.exec(l)?.[1] === cmd));

/** Apps that exited non-zero (a guest shut down by the demo reports exit code 0 whatever they did). */
const failedApps = (d: Domain) =>
  d.consoleLog.flatMap((l) => {
    const m = EXITED_RE.exec(l);
    return m && m[2] !== '0' ? [`${d.name}: ${m[1]} exited with ${m[2]}`] : [];
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function demoCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommand(argv, {}, 'pvkit demo');
  expectPositionals(positionals, [], 'pvkit demo');
  const view = new LiveView(process.stdout);
  const net = deviceBackendFor('nics') !== undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pvkit-demo-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup); // even if something below exits the process
  const session = new Session({ command: 'demo', view });
  let sampler: NodeJS.Timeout | undefined;
  try {
    if (!net)
      view.line(
        'demo: virtio-net is not in this build: the block half only (blkverify on each guest)',
      );
    const plan = GUESTS.map((g) => ({
      guest: g,
      blk: runnable(g.blkApps, (s) => view.line(s)),
      net: net ? runnable(g.netApps, (s) => view.line(s)) : [],
    }));
    const configs = parseConfig({
      domains: plan.map((p) => demoDomain(p.guest, dir, { net, apps: [...p.blk, ...p.net] })),
    });
    view.line(`demo: disk images in ${dir} (sparse, ${DEMO_DISK_SIZE} each, removed at the end)`);
    await session.listen();
    const t0 = performance.now();
    const domains = await session.boot(configs);
    const meter = new ActivityMeter();
    let ticks = 0;
    sampler = setInterval(() => {
      meter.sample(domains);
      if (view.tty && ticks++ % 10 === 0)
        view.show(progressLines(domains, (performance.now() - t0) / 1000, net));
    }, SAMPLE_MS);

    // alpha drives the demo. A guest that only idles once its own apps are done
    // (beta answering pings and the stream) is shut down when alpha has finished.
    const [driver, ...others] = domains;
    await driver.exited;
    await Promise.all(
      others.map(async (d, i) => {
        const p = plan[i + 1];
        if (!p.net.some((c) => c.startsWith('idle'))) return;
        const mine = [...p.blk, ...p.net.filter((c) => !c.startsWith('idle'))];
        for (let waited = 0; d.alive && !appsEnded(d, mine) && waited < 20_000; waited += 50)
          await sleep(50);
        if (d.alive) await session.vmm.shutdown(d, 3000);
      }),
    );
    const exits = await session.waitAll();
    clearInterval(sampler);
    meter.sample(domains);
    view.clear();
    for (const l of summaryLines(domains, meter, (performance.now() - t0) / 1000)) view.line(l);
    view.line('results:');
    for (const d of domains)
      for (const l of d.consoleLog)
        if (RESULT_LINES.some((re) => re.test(l))) view.line(`  [${d.name}] ${l}`);
    const failed = domains.flatMap(failedApps);
    for (const f of failed) view.line(`  FAILED: ${f}`);
    const code = session.exitCode(exits);
    return code === EXIT.ok && failed.length > 0 ? EXIT.failed : code;
  } finally {
    clearInterval(sampler);
    await session.close();
    cleanup();
    process.off('exit', cleanup);
  }
}
