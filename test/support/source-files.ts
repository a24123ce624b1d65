// Every source file under a directory, for tests that read our own code.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of the files under `dir` (recursively) whose names match `pattern`. */
export function sourceFiles(dir: string, pattern: RegExp = /\.[cm]?[jt]s$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p, pattern);
    return pattern.test(name) ? [p] : [];
  });
}
