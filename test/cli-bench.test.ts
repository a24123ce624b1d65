// `pvkit bench all --quick --json --plot`: stdout is one JSON document per
// family built in this tree, with every published case id (DESIGN.md), and
// the plot is an SVG file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliTmp, pvkit, ROOT } from './support/cli.ts';

/** The case ids DESIGN.md publishes; they never change once published. */
const CASES: Record<string, string[]> = {
  ring: ['poll-b1', 'poll-b16', 'poll-b64', 'notify-b1', 'notify-b16', 'notify-b64'],
  hypercall: ['null', 'multicall-32', 'evtchn-rtt', 'idle-8', 'boot-1', 'boot-32'],
  blk: ['seq-read-128k-qd8', 'seq-write-128k-qd8', 'rand-read-4k-qd32', 'rand-write-4k-qd32'],
  net: ['udp-64', 'udp-1472', 'udp-rr-64'],
};

test('bench all --quick --json: every case id of every family built here; --plot writes SVG', () => {
  const built = Object.keys(CASES).filter((f) => existsSync(join(ROOT, 'bench', `${f}.ts`)));
  expect(built).toEqual(expect.arrayContaining(['ring', 'hypercall', 'blk']));
  const tmp = cliTmp();
  const svg = join(tmp, 'bench.svg');
  const r = pvkit(['bench', 'all', '--quick', '--json', '--plot', svg], {
    tmp,
    timeoutMs: 240_000,
  });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  const docs = JSON.parse(r.stdout) as {
    bench: string;
    node: string;
    cpus: number;
    cases: {
      case: string;
      value: number;
      unit: string;
      native: number | null;
      nativeName: string;
      ratio: number | null;
    }[];
  }[];
  expect(docs.map((d) => d.bench)).toEqual(built);
  for (const d of docs) {
    expect(d.node).toBe(process.version);
    expect(d.cases.map((c) => c.case)).toEqual(CASES[d.bench]);
    for (const c of d.cases) {
      expect(Number.isFinite(c.value) && c.value > 0, `${d.bench}/${c.case}`).toBe(true);
      expect(typeof c.unit).toBe('string');
      expect(typeof c.nativeName).toBe('string');
    }
  }
  expect(r.stderr).toMatch(/^case +pvkit +unit +native +ratio/m); // the tables, on stderr
  const text = readFileSync(svg, 'utf8');
  expect(text.startsWith('<svg')).toBe(true);
  expect(text).toContain('</svg>');
}, 260_000);
