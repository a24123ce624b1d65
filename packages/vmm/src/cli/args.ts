// Command-line parsing for every command: Node's util.parseArgs (strict),
// with its errors turned into one usage line.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommand<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split(/\.( |$)|\n/)[0];
    throw new UsageError(`${msg}; usage: ${usage}`);
  }
}

/** A positive number option ("--interval 0.5"), or a usage error naming it. */
export function positiveNumber(raw: string | undefined, name: string, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${name} takes a positive number, got "${raw}"`);
  return n;
}

/** Exactly `n` positional arguments, or a usage error saying which is missing or extra. */
export function expectPositionals(got: string[], names: string[], usage: string): string[] {
  if (got.length < names.length)
    throw new UsageError(`missing ${names[got.length]}; usage: ${usage}`);
  if (got.length > names.length)
    throw new UsageError(`unexpected argument "${got[names.length]}"; usage: ${usage}`);
  return got;
}
