// Build and run the C floors in bench/native/ with the machine's cc, so that
// every pvkit figure can be set beside what the hardware does in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const buildDir = join(nativeDir, 'build');

export type NativeBuild = { ok: true; path: string } | { ok: false; reason: string };

function findCc(): string | null {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang']) {
    if (!cc) continue;
    const r = spawnSync(cc, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return cc;
  }
  return null;
}

/** The newest mtime of `src` and the headers beside it, which it may include. */
function sourceMtime(src: string): number {
  let t = statSync(src).mtimeMs;
  for (const f of readdirSync(nativeDir))
    if (f.endsWith('.h')) t = Math.max(t, statSync(join(nativeDir, f)).mtimeMs);
  return t;
}

/** Compile bench/native/<name>.c (once; again when it or a header is newer). */
export function buildNative(name: string): NativeBuild {
  const src = join(nativeDir, `${name}.c`);
  if (!existsSync(src)) return { ok: false, reason: `bench/native/${name}.c is missing` };
  const cc = findCc();
  if (!cc) return { ok: false, reason: 'no C compiler (cc) on this machine: native floor skipped' };
  mkdirSync(buildDir, { recursive: true });
  const out = join(buildDir, name);
  if (existsSync(out) && statSync(out).mtimeMs >= sourceMtime(src)) return { ok: true, path: out };
  try {
    execFileSync(cc, ['-O2', '-std=gnu11', '-pthread', '-o', out, src], { stdio: 'pipe' });
  } catch (e) {
    const msg = (e as { stderr?: Buffer }).stderr?.toString().split('\n')[0] ?? String(e);
    return { ok: false, reason: `cc failed on bench/native/${name}.c: ${msg}` };
  }
  return { ok: true, path: out };
}

/**
 * Run a built native program; it prints one JSON object on stdout.
 * Throws with the program's stderr if it fails.
 */
export function runNative(
  path: string,
  args: string[],
  timeoutMs = 120_000,
): Record<string, number> {
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) {
    throw new Error(`${path} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as Record<string, number>;
}
