// What an app is: a name, a usage line, an argument check that the
// toolstack runs before any worker starts, and an async main that returns
// its exit code.
import type { Sys } from '../syscalls.ts';

export interface AppSpec {
  name: string;
  /** "sleep <seconds>" */
  usage: string;
  about: string;
  /** What is wrong with argv (the words after the name), or null. */
  check(argv: readonly string[]): string | null;
  main(sys: Sys, argv: readonly string[]): Promise<number | undefined>;
}

/** A peer domain argument: a domid, or "@name" (the toolstack puts the domid in). */
export function peerArgError(arg: string | undefined): string | null {
  if (arg === undefined) return 'name the peer domain ("@name" or a domid)';
  if (/^@[A-Za-z0-9_.-]+$/.test(arg) || /^[1-9]\d*$/.test(arg)) return null;
  return `peer must be "@name" or a domid, got "${arg}"`;
}

/** A count argument: a positive integer. */
export function countArgError(arg: string | undefined, what: string): string | null {
  if (arg === undefined || /^[1-9]\d*$/.test(arg)) return null;
  return `${what} must be a positive integer, got "${arg}"`;
}
