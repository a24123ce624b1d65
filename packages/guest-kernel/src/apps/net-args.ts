// Argument checks and small helpers shared by the network apps.
import { parseIpv4 } from '../net/index.ts';
import type { Sys } from '../syscalls.ts';

/** An IPv4 address argument. */
export function ipArgError(arg: string | undefined, what = 'address'): string | null {
  if (arg === undefined) return `name the ${what}, such as 10.0.0.2`;
  return parseIpv4(arg) === null ? `${what} "${arg}" is not an IPv4 address` : null;
}

/** A UDP port argument (1..65535). */
export function portArgError(arg: string | undefined): string | null {
  if (arg === undefined) return 'name the UDP port, such as 5001';
  const n = Number(arg);
  return /^\d{1,5}$/.test(arg) && n >= 1 && n <= 65535 ? null : `port "${arg}" is not 1..65535`;
}

/** A positive number argument (fractions allowed), when given. */
export function secondsArgError(arg: string | undefined, what: string): string | null {
  if (arg === undefined) return null;
  const n = Number(arg);
  return Number.isFinite(n) && n > 0 ? null : `${what} must be a positive number, got "${arg}"`;
}

/** "eth0 10.0.0.2/24": the interfaces with an address, or null (printed) when there is none. */
export function addressedInterfaces(sys: Sys, app: string): string | null {
  const named = sys.net
    .interfaces()
    .filter((i) => i.ip !== null)
    .map((i) => `${i.name} ${i.ip}`);
  if (named.length > 0) return named.join(', ');
  sys.print(`${app}: no network interface with an address (give the domain a NIC with an "ip")`);
  return null;
}

/** ms with three decimals, as ping prints times. */
export function ms3(x: number): string {
  return x.toFixed(3);
}
