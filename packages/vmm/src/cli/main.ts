// `pvkit run <config.json> [--stats]`: boot the domain(s) of a config file,
// print their consoles (prefixed with the domain name) and state changes,
// and exit when every domain has ended: 0 if all powered off with exit code
// 0, 1 if any crashed or was destroyed, 2 for a bad config or usage, 3 if an
// app failed (a domain exited with a non-zero code).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type DomainConfig, parseConfig } from '../config/schema.ts';
import type { Domain, ExitInfo } from '../toolstack/domain.ts';
import { Vmm } from '../toolstack/vmm.ts';
import { formatStats } from './stats.ts';

const USAGE = 'usage: pvkit run <config.json> [--stats]';

export class UsageError extends Error {}

/** Read and validate a config file; every problem is one line (ConfigError). */
export function loadConfigFile(file: string): DomainConfig[] {
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const base = dirname(resolve(file));
  const resolveKernel = (p: string) => {
    const abs = resolve(base, p);
    if (!existsSync(abs))
      throw new ConfigError(`${file}: kernel "${p}" does not exist (looked at ${abs})`);
    return abs;
  };
  try {
    const configs = parseConfig(raw, resolveKernel);
    for (const c of configs) c.baseDir = base;
    return configs;
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(file))
      throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}

function describeExit(e: ExitInfo): string {
  if (e.reason === 'crash') return `crashed${e.detail ? `: ${e.detail}` : ''}`;
  if (e.reason === 'destroyed') return 'destroyed';
  return `shut down (${e.reason}), exit code ${e.code}`;
}

export async function run(argv: string[], out: (line: string) => void): Promise<number> {
  const [cmd, file, ...rest] = argv;
  if (cmd !== 'run' || !file) throw new UsageError(USAGE);
  const stats = rest.includes('--stats');
  const unknown = rest.filter((a) => a !== '--stats');
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown[0]}; ${USAGE}`);
  const configs = loadConfigFile(file);

  const vmm = new Vmm();
  vmm.on('console', (d, line) => out(`[${d.name}] ${line}`));
  vmm.on('state', (d, s) => {
    if (d.alive) out(`* ${d.name} (domid ${d.domid}): ${s}`); // the end gets its own line
  });
  vmm.on('exit', (d, e) => out(`* ${d.name} (domid ${d.domid}): ${describeExit(e)}`));
  const onSignal = () => {
    out('* interrupted: destroying every domain');
    void vmm.close();
  };
  process.once('SIGINT', onSignal);
  let domains: Domain[] = [];
  try {
    domains = await vmm.createDomains(configs);
    for (const d of domains) vmm.start(d);
    const exits = await Promise.all(domains.map((d) => d.exited));
    if (stats) for (const d of domains) out(formatStats(d.stats()));
    if (exits.some((e) => e.reason === 'crash' || e.reason === 'destroyed')) return 1;
    return exits.some((e) => e.code !== 0) ? 3 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    await vmm.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`pvkit: ${msg}\n`);
      process.exit(e instanceof ConfigError || e instanceof UsageError ? 2 : 1);
    },
  );
}
