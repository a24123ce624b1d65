// The table of `pvkit stat` and `pvkit run --stat`: one row per domain, then
// its busiest hypercalls per second.
import type { Snapshot } from './control.ts';
import { compact, domainRates } from './rates.ts';

const COLUMNS = [
  ['DOMAIN', 12],
  ['ID', 4],
  ['STATE', 9],
  ['HCALL/s', 9],
  ['EVENT/s', 9],
  ['KICK/s', 9],
  ['IRQ/s', 9],
  ['BLK MB/s', 9],
  ['NET pkt/s', 10],
  ['NET MB/s', 9],
] as const;

/** Calls shown per domain (the busiest). */
const TOP_CALLS = 6;

export function row(cells: (string | number)[]): string {
  return cells
    .map((c, i) => {
      const [, w] = COLUMNS[i];
      return i < 3 ? String(c).padEnd(w) : String(c).padStart(w);
    })
    .join(' ')
    .trimEnd();
}

export function statTable(cur: Snapshot, prev: Snapshot | null): string[] {
  const dtS = prev ? (cur.uptimeMs - prev.uptimeMs) / 1000 : 0;
  const before = new Map(prev?.domains.map((d) => [d.domid, d]) ?? []);
  const lines = [
    `pvkit stat: VMM pid ${cur.pid} (${cur.command}), up ${(cur.uptimeMs / 1000).toFixed(1)} s, ` +
      `${cur.domains.filter((d) => d.vcpu !== 'down').length} live of ${cur.domains.length} domains` +
      (prev ? `, rates over ${dtS.toFixed(1)} s` : ', rates from the next sample'),
    row(COLUMNS.map(([h]) => h)),
  ];
  for (const d of cur.domains) {
    const r = domainRates(before.get(d.domid), d, dtS);
    lines.push(
      row([
        d.name.slice(0, 12),
        d.domid,
        d.state,
        compact(r.hypercalls),
        compact(r.events),
        compact(r.kicks),
        compact(r.interrupts),
        compact(r.blkMBs),
        compact(r.netPps),
        compact(r.netMBs),
      ]),
    );
    if (r.byCall.length > 0)
      lines.push(
        `  calls/s: ${r.byCall
          .slice(0, TOP_CALLS)
          .map((c) => `${c.name} ${compact(c.rate)}`)
          .join(', ')}`,
      );
  }
  if (cur.domains.length === 0) lines.push('  (no domains yet)');
  return lines;
}
