// `pnpm bench <family|all> [--quick] [--json] [--runs N]`
// Tables and progress go to stderr; with --json, stdout carries exactly one
// JSON document (one family) or an array of them (`all`).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileOnWorkerThreads } from '../packages/vmm/src/index.ts';
import { plotSvg } from './lib/plot.ts';
import { formatTable } from './lib/table.ts';
import type { BenchDocument, BenchFamily, BenchOptions } from './lib/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const FAMILIES = ['ring', 'hypercall', 'blk', 'net'] as const;

/** One line: what is wrong, then the usage; exit 2 (a usage error, nothing ran). */
function usage(msg: string): never {
  process.stderr.write(
    `pvkit bench: ${msg}; usage: pnpm bench <${FAMILIES.join('|')}|all> [--quick] [--json] [--runs N] [--plot out.svg]\n`,
  );
  process.exit(2);
}

export async function runFamily(name: string, opts: BenchOptions): Promise<BenchDocument> {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) throw new Error(`benchmark family "${name}" is not built yet (${file})`);
  // Smoke runs end workers soon after they start, while V8 may still be
  // compiling for them: take the safe setting (see that module). Measured runs
  // keep V8's defaults, as a program importing @pvkit/virtio-ring has them;
  // the VMM families set it anyway, as the Vmm does for every user.
  if (opts.quick) compileOnWorkerThreads();
  const mod = (await import(pathToFileURL(file).href)) as { default: BenchFamily };
  const cases = await mod.default(opts);
  return { bench: name, node: process.version, cpus: cpus().length, cases };
}

async function main(argv: string[]): Promise<void> {
  const names: string[] = [];
  let quick = false;
  let json = false;
  let runs = 0;
  let plot: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--plot') {
      plot = argv[++i] ?? usage('--plot takes a file name, e.g. --plot bench.svg');
      if (!plot.endsWith('.svg')) usage(`--plot writes SVG: name the file *.svg, not ${plot}`);
    } else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else names.push(a);
  }
  if (names.length !== 1) usage('name one benchmark family');
  // `all`: every family built in this tree (net comes with its issue).
  const built = FAMILIES.filter((f) => existsSync(join(here, `${f}.ts`)));
  const fams = names[0] === 'all' ? built : names;
  for (const f of fams) {
    if (!(FAMILIES as readonly string[]).includes(f)) usage(`unknown family ${f}`);
    if (!built.includes(f as (typeof FAMILIES)[number]))
      usage(`family ${f} is not built in this tree yet (no bench/${f}.ts)`);
  }
  if (!Number.isInteger(runs) || runs < 0) usage('--runs takes a positive integer');
  const opts: BenchOptions = {
    quick,
    runs: runs || (quick ? 1 : 5),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  for (const f of FAMILIES)
    if (names[0] === 'all' && !built.includes(f))
      opts.log(`== bench ${f}: not built in this tree, skipped`);
  const docs: BenchDocument[] = [];
  for (const f of fams) {
    opts.log(`== bench ${f}${quick ? ' (quick)' : ''}, ${opts.runs} run(s) per case`);
    const doc = await runFamily(f, opts);
    docs.push(doc);
    process.stderr.write(`${formatTable(doc)}\n`);
    const outDir = join(here, 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${f}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  }
  if (plot) {
    writeFileSync(plot, await plotSvg(docs));
    opts.log(`plot written to ${plot}`);
  }
  if (json)
    process.stdout.write(`${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`pvkit bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
