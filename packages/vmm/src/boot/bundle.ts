// Worker entries as esbuild bundles. A Node 20 worker can't load .ts; going
// through tsx costs ~240 ms per worker here, a plain .mjs ~50 ms. So the VMM
// bundles each entry (the guest kernel, the hypervisor service, a custom
// kernel) once per process into node_modules/.cache/pvkit/, and rebuilds it
// only when one of its input files changed since the last build.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

interface Manifest {
  entry: string;
  inputs: Record<string, number>;
}

const built = new Map<string, string>();

/**
 * node_modules/.cache/pvkit of the project we run in (the nearest directory
 * above the working directory with a package.json and node_modules, as
 * find-cache-dir does), else of this package.
 */
function cacheDir(): string {
  for (const start of [process.cwd(), dirname(fileURLToPath(import.meta.url))]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules')))
        return join(dir, 'node_modules', '.cache', 'pvkit');
      if (dirname(dir) === dir) break;
    }
  }
  return join(process.cwd(), '.pvkit-cache');
}

function upToDate(manifestPath: string, entry: string): boolean {
  if (!existsSync(manifestPath)) return false;
  try {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (m.entry !== entry) return false;
    for (const [file, mtime] of Object.entries(m.inputs)) {
      if (!existsSync(file) || statSync(file).mtimeMs !== mtime) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** The path of an .mjs bundle of `entryFile` (a .ts or .js module), built if needed. */
export function bundleEntry(entryFile: string): string {
  const entry = resolve(entryFile);
  const hit = built.get(entry);
  if (hit) return hit;
  const dir = cacheDir();
  const key = createHash('sha1').update(entry).digest('hex').slice(0, 12);
  const out = join(dir, `${basename(entry).replace(/\.[cm]?[tj]s$/, '')}-${key}.mjs`);
  const manifestPath = `${out}.json`;
  if (!(existsSync(out) && upToDate(manifestPath, entry))) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
    const result = buildSync({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      logLevel: 'silent',
    });
    const cwd = process.cwd();
    const inputs: Record<string, number> = {};
    for (const input of Object.keys(result.metafile?.inputs ?? {})) {
      const file = resolve(cwd, input);
      if (existsSync(file)) inputs[file] = statSync(file).mtimeMs;
    }
    // rename is atomic: a parallel test process sees the old or the new bundle, never half.
    renameSync(tmp, out);
    writeFileSync(`${manifestPath}.${process.pid}.tmp`, JSON.stringify({ entry, inputs }));
    renameSync(`${manifestPath}.${process.pid}.tmp`, manifestPath);
  }
  built.set(entry, out);
  return out;
}
