// Exit codes, and the errors the CLI turns into one line on stderr: what is
// wrong and what to do about it. A stack trace is printed only for a pvkit
// bug (an error of no known kind), and only with PVKIT_DEBUG=1.
import { ConfigError } from '../config/schema.ts';

/** The exit codes of every pvkit command (documented in `pvkit --help`). */
export const EXIT = {
  /** Everything ran and every guest (or benchmark) succeeded. */
  ok: 0,
  /** A guest failed: a domain crashed or was destroyed, an app exited non-zero, a check of the demo or a benchmark failed. */
  failed: 1,
  /** Usage or configuration error: nothing was started. */
  usage: 2,
  /** Runtime or host error: a worker or host resource failed, no VMM to talk to, an unreadable trace. */
  host: 3,
  /** Interrupted by Ctrl-C (SIGINT): every domain was destroyed and temporary files removed. */
  interrupted: 130,
} as const;

export class CliError extends Error {
  declare readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A mistake in the command line: exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The host or a running VMM failed us: exit 3. */
export class HostError extends CliError {
  constructor(message: string) {
    super(message, EXIT.host);
  }
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (e instanceof ConfigError) return EXIT.usage;
  return EXIT.host;
}

/** A Node system error (ENOENT, EACCES, EADDRINUSE...): the host said no. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** The one line printed for an error (after "pvkit: "). */
export function errorLine(e: unknown): string {
  const first = (s: string) => s.split('\n')[0];
  if (e instanceof CliError || e instanceof ConfigError) return first(e.message);
  if (isSystemError(e))
    return `${first(e.message)} (a host error; check the path, permissions and free space)`;
  const msg = e instanceof Error ? e.message : String(e);
  return `internal error: ${first(msg)} (a pvkit bug: rerun with PVKIT_DEBUG=1 for the stack and report it)`;
}
