// One "nics" entry of a domain config, checked: which backend, its
// addresses, and the NIC's own MAC and IPv4 address. Every mistake is one
// NicConfigError naming the key, what is wrong and what would be right.
//
//   { "backend": "switch", "switch": "lan0" }
//   { "backend": "dgram", "local": "127.0.0.1:10002", "remote": "127.0.0.1:10001" }
//   { "backend": "stream", "connect": "127.0.0.1:5555" }   or   "listen": "127.0.0.1:5555"
//   each with optional "mac": "52:54:00:12:34:56", "ip": "10.0.0.2/24",
//   "notify": "doorbell" | "hypercall"

import { macIsMulticast, macIsZero, parseMac } from '@pvkit/virtio-ring';

export interface HostPort {
  host: string;
  /** 0 only for a dgram "local" address: an ephemeral port. */
  port: number;
}

export type NicBackendConfig =
  | { kind: 'switch'; switch: string }
  | { kind: 'dgram'; local: HostPort; remote: HostPort }
  | { kind: 'stream'; mode: 'connect' | 'listen'; addr: HostPort };

export interface NicConfig {
  backend: NicBackendConfig;
  /** The configured MAC, or null: the toolstack derives one from the domain name. */
  mac: Uint8Array | null;
  /** The guest's address (host-order u32) and prefix, or null. */
  ip: { addr: number; prefix: number } | null;
  /** Kicks by doorbell (default) or by QueueNotify trap. */
  notifyByHypercall: boolean;
}

export class NicConfigError extends Error {
  override name = 'NicConfigError';
}

const KEYS: Record<NicBackendConfig['kind'], readonly string[]> = {
  switch: ['switch'],
  dgram: ['local', 'remote'],
  stream: ['connect', 'listen'],
};
const COMMON = ['backend', 'mac', 'ip', 'notify'];
const SWITCH_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

function fail(msg: string): never {
  throw new NicConfigError(msg);
}

/** "A.B.C.D" as a host-order u32, or null. Decimal octets, no leading zeros. */
export function parseIpv4Literal(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let addr = 0;
  for (const octet of m.slice(1)) {
    if ((octet.length > 1 && octet[0] === '0') || Number(octet) > 255) return null;
    addr = addr * 256 + Number(octet);
  }
  return addr;
}

function hostPort(key: string, v: unknown, allowZero: boolean): HostPort {
  const example = '"127.0.0.1:10001"';
  if (typeof v !== 'string') fail(`${key}: must be a string such as ${example}`);
  const at = v.lastIndexOf(':');
  const host = v.slice(0, at);
  const portText = v.slice(at + 1);
  if (at < 0 || parseIpv4Literal(host) === null)
    fail(`${key}: "${v}" is not an IPv4 address and port such as ${example}`);
  const port = Number(portText);
  const min = allowZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText) || port < min || port > 65535)
    fail(
      `${key}: port "${portText}" is not ${min}..65535${allowZero ? ' (0: any free port)' : ''}`,
    );
  return { host, port };
}

function ipConfig(v: unknown): { addr: number; prefix: number } {
  const m = typeof v === 'string' ? /^([^/]+)\/(\d{1,2})$/.exec(v) : null;
  if (!m) fail(`ip: must be an address with a prefix length such as "10.0.0.2/24"`);
  const addr = parseIpv4Literal(m[1]);
  const prefix = Number(m[2]);
  if (addr === null) fail(`ip: "${m[1]}" is not an IPv4 address`);
  if (prefix < 1 || prefix > 32) fail(`ip: prefix /${prefix} is not 1..32`);
  const mask = prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
  const host = (addr & ~mask) >>> 0;
  if (addr === 0 || addr >>> 28 === 0xe || addr >>> 28 === 0xf)
    fail(`ip: ${m[1]} cannot be a host's address (zero, multicast or reserved)`);
  if (prefix < 31 && (host === 0 || host === ~mask >>> 0))
    fail(`ip: ${m[1]} is the network or broadcast address of its /${prefix}`);
  return { addr, prefix };
}

function macConfig(v: unknown): Uint8Array {
  const mac = typeof v === 'string' ? parseMac(v) : null;
  if (mac === null) fail(`mac: must be six hex octets such as "52:54:00:12:34:56"`);
  if (macIsMulticast(mac) || macIsZero(mac))
    fail(`mac: ${String(v)} is a multicast or zero address; a NIC needs a unicast one`);
  return mac;
}

function backendConfig(e: Record<string, unknown>): NicBackendConfig {
  const kind = e.backend;
  if (kind === 'switch') {
    const name = e.switch;
    if (typeof name !== 'string' || !SWITCH_NAME.test(name))
      fail(
        `switch: must name the switch (letters, digits, "_", "." or "-", at most 32), such as "lan0"`,
      );
    return { kind, switch: name };
  }
  if (kind === 'dgram') {
    if (e.local === undefined || e.remote === undefined)
      fail(`dgram needs "local" and "remote", such as "127.0.0.1:10002" and "127.0.0.1:10001"`);
    return {
      kind,
      local: hostPort('local', e.local, true),
      remote: hostPort('remote', e.remote, false),
    };
  }
  if (kind === 'stream') {
    const hasConnect = e.connect !== undefined;
    if (hasConnect === (e.listen !== undefined))
      fail(`stream needs exactly one of "connect" or "listen", such as "127.0.0.1:5555"`);
    const mode = hasConnect ? 'connect' : 'listen';
    return { kind, mode, addr: hostPort(mode, e[mode], false) };
  }
  return fail(`backend: must be "switch", "dgram" or "stream", got ${JSON.stringify(kind)}`);
}

/** Check one entry; throws NicConfigError with the first problem. */
export function parseNicConfig(entry: Record<string, unknown>): NicConfig {
  const backend = backendConfig(entry);
  const allowed = [...COMMON, ...KEYS[backend.kind]];
  for (const k of Object.keys(entry))
    if (!allowed.includes(k))
      fail(`unknown key "${k}" for a ${backend.kind} NIC; known keys: ${allowed.join(', ')}`);
  const notify = entry.notify ?? 'doorbell';
  if (notify !== 'doorbell' && notify !== 'hypercall')
    fail(`notify: must be "doorbell" or "hypercall", got ${JSON.stringify(notify)}`);
  return {
    backend,
    mac: entry.mac === undefined ? null : macConfig(entry.mac),
    ip: entry.ip === undefined ? null : ipConfig(entry.ip),
    notifyByHypercall: notify === 'hypercall',
  };
}

/** "127.0.0.1:5555" */
export function formatHostPort(a: HostPort): string {
  return `${a.host}:${a.port}`;
}
