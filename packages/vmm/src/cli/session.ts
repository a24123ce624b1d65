// One run of a VMM from the command line, shared by `pvkit run`, `pvkit
// trace record` and the demo: boot the domains, print their consoles and
// state changes, serve `pvkit stat` on the control socket, optionally keep a
// live table, turn Ctrl-C into "destroy every domain", and say how it ended.
import { ConfigError, type DomainConfig } from '../config/schema.ts';
import type { Domain, ExitInfo } from '../toolstack/domain.ts';
import { Vmm } from '../toolstack/vmm.ts';
import { ControlServer, type Snapshot } from './control.ts';
import { EXIT, HostError } from './errors.ts';
import type { LiveView } from './live.ts';
import { statTable } from './stat-table.ts';

export function describeExit(e: ExitInfo): string {
  if (e.reason === 'crash') return `crashed${e.detail ? `: ${e.detail}` : ''}`;
  if (e.reason === 'watchdog') return `killed by the watchdog${e.detail ? `: ${e.detail}` : ''}`;
  if (e.reason === 'destroyed') return 'destroyed';
  return `shut down (${e.reason}), exit code ${e.code}`;
}

/** 0 if every domain powered off with exit code 0; 1 if any failed; 130 if interrupted. */
export function runExitCode(exits: readonly ExitInfo[], interrupted: boolean): number {
  if (interrupted) return EXIT.interrupted;
  const failed = exits.some(
    (e) =>
      e.reason === 'crash' || e.reason === 'watchdog' || e.reason === 'destroyed' || e.code !== 0,
  );
  return failed ? EXIT.failed : EXIT.ok;
}

export interface SessionOptions {
  /** What `pvkit stat` shows as the command, e.g. "run hello.json". */
  command: string;
  view: LiveView;
  /** Print console lines and state changes (default true). */
  echo?: boolean;
}

export class Session {
  readonly vmm = new Vmm();
  declare readonly view: LiveView;
  domains: Domain[] = [];
  interrupted = false;
  declare private readonly command: string;
  private readonly started = performance.now();
  private control: ControlServer | null = null;
  private statTimer: NodeJS.Timeout | undefined = undefined;
  private readonly onSigint = () => this.interrupt();

  constructor(opts: SessionOptions) {
    this.view = opts.view;
    this.command = opts.command;
    if (opts.echo !== false) {
      const v = this.view;
      this.vmm.on('console', (d, line) => v.line(`[${d.name}] ${line}`));
      this.vmm.on('state', (d, s) => {
        if (d.alive) v.line(`* ${d.name} (domid ${d.domid}): ${s}`); // the end gets its own line
      });
      this.vmm.on('exit', (d, e) => v.line(`* ${d.name} (domid ${d.domid}): ${describeExit(e)}`));
    }
    process.on('SIGINT', this.onSigint);
  }

  snapshot(): Snapshot {
    return {
      pid: process.pid,
      command: this.command,
      uptimeMs: performance.now() - this.started,
      domains: this.vmm.domains.map((d) => d.stats()),
    };
  }

  /** Serve `pvkit stat`; without a socket the run goes on (and says so once). */
  async listen(): Promise<void> {
    try {
      this.control = await ControlServer.listen(() => this.snapshot(), undefined, {
        restart: (domain, device) => this.restart(domain, device),
      });
    } catch (e) {
      process.stderr.write(
        `pvkit: no control socket (${(e as Error).message}); pvkit stat will not see this run\n`,
      );
    }
  }

  /** `pvkit restart`: a domain by name or domid, a device by name ("vda") or index. */
  private async restart(domain: string, device: string): Promise<string> {
    const dom = this.vmm.domains.findLast((d) => d.name === domain || String(d.domid) === domain);
    if (!dom) throw new Error(`no domain "${domain}" in this run`);
    const which = /^\d+$/.test(device) ? Number(device) : device;
    await this.vmm.restartDevice(dom, which);
    return `${dom.name} (domid ${dom.domid}): ${device}: backend restarted; the guest re-probes it`;
  }

  /** Create every domain (one clear error if any cannot be), then start them all. */
  async boot(configs: readonly DomainConfig[]): Promise<Domain[]> {
    try {
      this.domains = await this.vmm.createDomains(configs);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new HostError(`cannot create the domains: ${(e as Error).message ?? e}`);
    }
    for (const d of this.domains) this.vmm.start(d);
    return this.domains;
  }

  /** Redraw (or print) the stat table every `intervalMs`. */
  liveStat(intervalMs = 1000): void {
    let prev: Snapshot | null = null;
    const draw = () => {
      const cur = this.snapshot();
      this.view.show(statTable(cur, prev));
      prev = cur;
    };
    draw(); // at once: which domains, in which state; rates from the next sample
    this.statTimer = setInterval(draw, intervalMs);
  }

  /** Wait until every domain has ended (Ctrl-C destroys them). */
  waitAll(): Promise<ExitInfo[]> {
    return Promise.all(this.domains.map((d) => d.exited));
  }

  exitCode(exits: readonly ExitInfo[]): number {
    return runExitCode(exits, this.interrupted);
  }

  interrupt(): void {
    if (this.interrupted) process.exit(EXIT.interrupted); // a second Ctrl-C: stop waiting
    this.interrupted = true;
    this.view.line('* interrupted: destroying every domain');
    void this.vmm.close();
  }

  async close(): Promise<void> {
    clearInterval(this.statTimer);
    this.view.release();
    process.off('SIGINT', this.onSigint);
    await this.control?.close();
    await this.vmm.close();
  }
}
