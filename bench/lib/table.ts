// Plain-text table of one benchmark document (stderr, or a terminal).
import type { BenchDocument } from './types.ts';

function fmt(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function formatTable(doc: BenchDocument): string {
  const head = ['case', 'pvkit', 'unit', 'native', 'ratio', 'native is'];
  const rows = doc.cases.map((c) => [
    c.case,
    fmt(c.value),
    c.unit,
    fmt(c.native),
    c.ratio === null ? '-' : `${c.ratio.toFixed(2)}x`,
    c.nativeName,
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [`${doc.bench} (node ${doc.node}, ${doc.cpus} cpus)`, line(head), ...rows.map(line)].join(
    '\n',
  );
}
