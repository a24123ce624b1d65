// Domain configuration: one domain object, or { "domains": [ ... ] }.
// Every mistake is reported as one line naming the key, what is wrong and
// what would be right, before any worker starts (schema: ../../README.md).

import { appCommandError } from '@pvkit/guest-kernel';
import { MAX_DOMAIN_NAME, MAX_GUEST_CMDLINE } from '@pvkit/hypercall';
import { DEVICE_CONFIG_KEYS, type DeviceConfigKey, deviceBackendFor } from '../devices/registry.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { splitRestart } from './restart.ts';
import { parseMemorySize } from './size.ts';

export interface DomainConfig {
  name: string;
  /** Bytes. */
  memory: number;
  vcpus: number;
  cmdline: string;
  /** App command lines, e.g. "sleep 5"; "@name" stands for that domain's domid. */
  apps: string[];
  disks: Record<string, unknown>[];
  nics: Record<string, unknown>[];
  /** A guest kernel entry module instead of the built-in kernel (absolute path). */
  kernel?: string;
  /** Where relative paths in device entries start: the config file's directory (default: cwd). */
  baseDir?: string;
  /** Destroy the domain when its vCPU neither traps nor waits for this many ms (default: off). */
  watchdog?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const KEYS = [
  'name',
  'memory',
  'vcpus',
  'cmdline',
  'apps',
  'kernel',
  'watchdog',
  ...DEVICE_CONFIG_KEYS,
];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const DEFAULT_MEMORY = '64M';
/** Watchdog bounds: shorter would fire on a GC pause; longer is as good as off. */
export const WATCHDOG_MIN_MS = 50;
export const WATCHDOG_MAX_MS = 24 * 3600 * 1000;

function closest(word: string, options: readonly string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0];
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j];
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length];
  };
  const best = options.map((o) => [o, dist(word, o)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= 2 ? best[0] : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function devices(key: DeviceConfigKey, v: unknown, at: string): Record<string, unknown>[] {
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new ConfigError(`${at}.${key}: must be an array of objects, got ${typeof v}`);
  if (v.length === 0) return [];
  const backend = deviceBackendFor(key);
  if (!backend)
    throw new ConfigError(
      `${at}.${key}: this pvkit build has no backend for ${key} yet; remove the key or leave the array empty`,
    );
  return v.map((entry, i) => {
    if (!isObject(entry)) throw new ConfigError(`${at}.${key}[${i}]: must be an object`);
    const own = splitRestart(entry); // "restart" is the toolstack's (./restart.ts)
    if (typeof own.policy === 'string') throw new ConfigError(`${at}.${key}[${i}]: ${own.policy}`);
    const err = backend.validate(own.entry);
    if (err) throw new ConfigError(`${at}.${key}[${i}]: ${err}`);
    return entry;
  });
}

function watchdogMs(v: unknown, at: string): number {
  const ms = parseDuration(v);
  if (typeof ms === 'string') throw new ConfigError(`${at}.watchdog: ${ms}`);
  if (ms < WATCHDOG_MIN_MS || ms > WATCHDOG_MAX_MS)
    throw new ConfigError(
      `${at}.watchdog: must be from ${formatDuration(WATCHDOG_MIN_MS)} to ${formatDuration(WATCHDOG_MAX_MS)}, got ${JSON.stringify(v)}`,
    );
  return ms;
}

/** Validate one domain object. `at` names it in messages ("domains[2]"). */
export function parseDomain(raw: unknown, at: string, resolveKernel?: (p: string) => string) {
  if (!isObject(raw)) throw new ConfigError(`${at}: must be an object with at least "name"`);
  for (const k of Object.keys(raw)) {
    if (KEYS.includes(k)) continue;
    const hint = closest(k, KEYS);
    throw new ConfigError(
      `${at}: unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${KEYS.join(', ')}`,
    );
  }
  const { name, vcpus = 1, cmdline = '', apps = [], kernel } = raw;
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > MAX_DOMAIN_NAME - 1)
    throw new ConfigError(
      `${at}.name: must be a string of letters, digits, "_", "." or "-" (at most ${MAX_DOMAIN_NAME - 1}), got ${JSON.stringify(name)}`,
    );
  const memory = parseMemorySize(raw.memory ?? DEFAULT_MEMORY);
  if (typeof memory === 'string') throw new ConfigError(`${at}.memory: ${memory}`);
  if (vcpus !== 1)
    throw new ConfigError(
      `${at}.vcpus: pvkit runs 1 vCPU per domain for now, got ${JSON.stringify(vcpus)}`,
    );
  if (typeof cmdline !== 'string') throw new ConfigError(`${at}.cmdline: must be a string`);
  if (new TextEncoder().encode(cmdline).length >= MAX_GUEST_CMDLINE)
    throw new ConfigError(`${at}.cmdline: must be shorter than ${MAX_GUEST_CMDLINE} bytes`);
  if (!Array.isArray(apps) || apps.some((a) => typeof a !== 'string'))
    throw new ConfigError(`${at}.apps: must be an array of command strings such as "sleep 5"`);
  if (kernel !== undefined && typeof kernel !== 'string')
    throw new ConfigError(`${at}.kernel: must be the path of a guest kernel entry module`);
  const cfg: DomainConfig = {
    name,
    memory,
    vcpus,
    cmdline,
    apps: apps as string[],
    disks: devices('disks', raw.disks, at),
    nics: devices('nics', raw.nics, at),
  };
  if (typeof kernel === 'string') cfg.kernel = resolveKernel ? resolveKernel(kernel) : kernel;
  if (raw.watchdog !== undefined) cfg.watchdog = watchdogMs(raw.watchdog, at);
  if (cfg.kernel === undefined)
    cfg.apps.forEach((cmd, i) => {
      const err = appCommandError(cmd);
      if (err) throw new ConfigError(`${at}.apps[${i}]: ${err}`);
    });
  return cfg;
}

/** Validate a whole config: one domain or { domains: [...] }; names unique, "@name" known. */
export function parseConfig(raw: unknown, resolveKernel?: (p: string) => string): DomainConfig[] {
  let list: DomainConfig[];
  if (isObject(raw) && 'domains' in raw) {
    const extra = Object.keys(raw).filter((k) => k !== 'domains');
    if (extra.length > 0)
      throw new ConfigError(
        `unknown top-level key "${extra[0]}": a config is one domain or { "domains": [...] }`,
      );
    if (!Array.isArray(raw.domains) || raw.domains.length === 0)
      throw new ConfigError('domains: must be a non-empty array of domain objects');
    list = raw.domains.map((d, i) => parseDomain(d, `domains[${i}]`, resolveKernel));
  } else {
    list = [parseDomain(raw, 'domain', resolveKernel)];
  }
  const multi = isObject(raw) && 'domains' in raw;
  const label = (i: number) => (multi ? `domains[${i}]` : 'domain');
  const names = new Set<string>();
  for (const [i, d] of list.entries()) {
    if (names.has(d.name))
      throw new ConfigError(`${label(i)}.name: "${d.name}" is used twice; names are unique`);
    names.add(d.name);
  }
  for (const [i, d] of list.entries()) {
    for (const [j, cmd] of d.apps.entries()) {
      for (const ref of cmd.match(/@[A-Za-z0-9_.-]+/g) ?? [])
        if (!names.has(ref.slice(1)))
          throw new ConfigError(
            `${label(i)}.apps[${j}]: "${ref}" names no domain of this config (have: ${[...names].join(', ')})`,
          );
    }
  }
  return list;
}
