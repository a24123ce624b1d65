// Arguments of the block apps: a disk name, then words and key=value
// options; sizes take binary suffixes ("4k", "128K", "64M", "1G").

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes of "4k", "1M", "512"; null if it is not a size. */
export function parseBytes(v: string): number | null {
  const m = /^(\d+)([kmg]?)$/i.exec(v);
  if (!m) return null;
  const n = Number(m[1]) * UNITS[m[2].toLowerCase()];
  return Number.isSafeInteger(n) ? n : null;
}

export interface ParsedArgs {
  words: string[];
  opts: Map<string, string>;
}

/** Split argv into plain words and key=value options; an unknown key is an error. */
export function parseArgs(argv: readonly string[], keys: readonly string[]): ParsedArgs | string {
  const words: string[] = [];
  const opts = new Map<string, string>();
  for (const a of argv) {
    const eq = a.indexOf('=');
    if (eq < 0) {
      words.push(a);
      continue;
    }
    const k = a.slice(0, eq);
    if (!keys.includes(k)) return `unknown option "${k}" (options: ${keys.join(', ')})`;
    opts.set(k, a.slice(eq + 1));
  }
  return { words, opts };
}

/**
 * A size option (or its default); an error string if malformed, below `min`
 * or not a multiple of `unit`.
 */
export function sizeOpt(
  p: ParsedArgs,
  key: string,
  dflt: number,
  unit = 512,
  min = 1,
): number | string {
  const raw = p.opts.get(key);
  if (raw === undefined) return dflt;
  const n = parseBytes(raw);
  if (n === null || n < min)
    return `${key}=${raw}: not a size such as ${min === 0 ? '0, ' : ''}4k, 1M`;
  if (n % unit !== 0) return `${key}=${raw}: must be a multiple of ${unit} bytes`;
  return n;
}

/** A positive number option (or its default). */
export function numberOpt(p: ParsedArgs, key: string, dflt: number): number | string {
  const raw = p.opts.get(key);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) return `${key}=${raw}: must be a positive number`;
  return n;
}
