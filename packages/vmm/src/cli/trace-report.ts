// `pvkit trace report <file.trace> [--csv out.csv]`: counts and latency
// percentiles per domain and call, events per domain and port, checked
// against what the VMM counted (the trace's "end" record).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { expectPositionals, parseCommand } from './args.ts';
import { HostError, UsageError } from './errors.ts';
import { Histogram } from './histogram.ts';
import { LiveView } from './live.ts';
import { readTrace, TRACE_FORMAT, type TraceEnd, type TraceItem } from './trace-file.ts';

interface CallRow {
  domid: number;
  nr: number;
  call: string;
  /** Traps and multicall entries: what the VMM counts. */
  calls: number;
  /** Trap latencies (entries are not timed alone). */
  traps: Histogram;
}

interface Report {
  command: string;
  domains: Map<number, string>;
  calls: Map<string, CallRow>;
  events: Map<
    string,
    { domid: number; port: number; raised: number; outcomes: Record<string, number> }
  >;
  records: number;
  firstNs: number;
  lastNs: number;
  end: TraceEnd | null;
  truncatedAt: number | null;
}

function collect(file: string): Report {
  const rep: Report = {
    command: '',
    domains: new Map(),
    calls: new Map(),
    events: new Map(),
    records: 0,
    firstNs: Infinity,
    lastNs: 0,
    end: null,
    truncatedAt: null,
  };
  let first = true;
  const notTrace = `${file}: not a pvkit trace (record one with \`pvkit trace record <config.json> -o ${file}\`)`;
  const each = (it: TraceItem) => {
    if (first) {
      first = false;
      if (
        typeof it !== 'object' ||
        it === null ||
        it.kind !== 'header' ||
        it.format !== TRACE_FORMAT
      )
        throw new UsageError(notTrace);
      rep.command = it.command;
      return;
    }
    if (it.kind === 'domain') rep.domains.set(it.domid, it.name);
    else if (it.kind === 'end') rep.end = it;
    else if (it.kind === 'trap' || it.kind === 'entry') {
      rep.records++;
      const key = `${it.domid}:${it.nr}`;
      let row = rep.calls.get(key);
      if (!row) {
        row = { domid: it.domid, nr: it.nr, call: it.call, calls: 0, traps: new Histogram() };
        rep.calls.set(key, row);
      }
      row.calls++;
      if (it.kind === 'trap') row.traps.add(it.duration);
      rep.firstNs = Math.min(rep.firstNs, it.start);
      rep.lastNs = Math.max(rep.lastNs, it.start + it.duration);
    } else if (it.kind === 'event') {
      rep.records++;
      const key = `${it.domid}:${it.port}`;
      let ev = rep.events.get(key);
      if (!ev) {
        ev = { domid: it.domid, port: it.port, raised: 0, outcomes: {} };
        rep.events.set(key, ev);
      }
      ev.raised++;
      ev.outcomes[it.outcome] = (ev.outcomes[it.outcome] ?? 0) + 1;
    }
  };
  try {
    rep.truncatedAt = readTrace(file, each);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new HostError(
      `${file}: cannot be decoded (${(e as Error).message}); ${first ? 'is it a pvkit trace?' : 'the file is damaged'}`,
    );
  }
  if (first) throw new UsageError(`${file}: empty; ${notTrace.slice(file.length + 2)}`);
  return rep;
}

const us = (ns: number) => (ns / 1000).toFixed(2);

function sortedRows(rep: Report): CallRow[] {
  return [...rep.calls.values()].sort((a, b) => a.domid - b.domid || b.calls - a.calls);
}

function table(rep: Report, file: string): string[] {
  const name = (id: number) => rep.domains.get(id) ?? `domid ${id}`;
  const span = rep.lastNs > rep.firstNs ? (rep.lastNs - rep.firstNs) / 1e9 : 0;
  const lines = [
    `trace ${file} (${rep.command}): ${rep.domains.size} domain(s), ${rep.records} records over ${span.toFixed(2)} s` +
      (rep.end ? `, ${rep.end.dropped} dropped` : ''),
    `${'domain'.padEnd(12)} ${'call'.padEnd(18)} ${'calls'.padStart(9)} ${'traps'.padStart(9)} ` +
      `${'p50 µs'.padStart(9)} ${'p90 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'max µs'.padStart(10)} ${'total ms'.padStart(10)}`,
  ];
  for (const r of sortedRows(rep)) {
    const h = r.traps;
    lines.push(
      `${name(r.domid).slice(0, 12).padEnd(12)} ${r.call.padEnd(18)} ${String(r.calls).padStart(9)} ${String(h.count).padStart(9)} ` +
        `${us(h.quantile(0.5)).padStart(9)} ${us(h.quantile(0.9)).padStart(9)} ${us(h.quantile(0.99)).padStart(9)} ` +
        `${us(h.max).padStart(10)} ${(h.total / 1e6).toFixed(3).padStart(10)}`,
    );
  }
  for (const ev of [...rep.events.values()].sort((a, b) => a.domid - b.domid || a.port - b.port)) {
    const how = Object.entries(ev.outcomes)
      .map(([k, v]) => `${v} ${k.replace('_', ' ')}`)
      .join(', ');
    lines.push(`events into ${name(ev.domid)} on port ${ev.port}: ${ev.raised} raised (${how})`);
  }
  lines.push(
    'calls = traps + multicall entries (as the VMM counts them); latencies are of traps, pickup to answer.',
  );
  return lines;
}

/** Where the trace and the VMM's own counters disagree (records dropped or lost), one line each. */
function crossCheck(rep: Report): string[] {
  if (!rep.end) return ['note: no end record: the recording did not finish, counts are partial'];
  const out: string[] = [];
  for (const d of rep.end.domains)
    for (const c of d.calls) {
      const got = rep.calls.get(`${d.domid}:${c.nr}`)?.calls ?? 0;
      if (got !== c.count)
        out.push(`note: ${d.name} ${c.name}: the VMM counted ${c.count}, the trace holds ${got}`);
    }
  if (out.length === 0) out.push('check: every call count matches what the VMM counted');
  return out;
}

function csv(rep: Report): string {
  const name = (id: number) => rep.domains.get(id) ?? '';
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = ['kind,domid,domain,name,nr,count,traps,p50_ns,p90_ns,p99_ns,max_ns,total_ns'];
  for (const r of sortedRows(rep)) {
    const h = r.traps;
    rows.push(
      [
        'call',
        r.domid,
        q(name(r.domid)),
        r.call,
        r.nr,
        r.calls,
        h.count,
        h.quantile(0.5),
        h.quantile(0.9),
        h.quantile(0.99),
        h.max,
        h.total,
      ]
        .map((v) => (typeof v === 'number' ? String(Math.round(v)) : v))
        .join(','),
    );
  }
  for (const ev of rep.events.values())
    rows.push(
      [
        'event',
        ev.domid,
        q(name(ev.domid)),
        `port ${ev.port}`,
        ev.port,
        ev.raised,
        '',
        '',
        '',
        '',
        '',
        '',
      ].join(','),
    );
  return `${rows.join('\n')}\n`;
}

export async function traceReportCommand(argv: string[]): Promise<number> {
  const usage = 'pvkit trace report <file.trace> [--csv out.csv]';
  const { values, positionals } = parseCommand(argv, { csv: { type: 'string' } }, usage);
  const [file] = expectPositionals(positionals, ['<file.trace>'], usage);
  if (!existsSync(file) || statSync(file).isDirectory())
    throw new UsageError(
      `${file}: no such file; record one with \`pvkit trace record <config.json> -o ${file}\``,
    );
  const rep = collect(file);
  const view = new LiveView(process.stdout, false);
  for (const l of table(rep, file)) view.line(l);
  for (const l of crossCheck(rep)) view.line(l);
  if (rep.truncatedAt !== null)
    process.stderr.write(
      `pvkit: ${file} ends in the middle of a record at byte ${rep.truncatedAt} (the recording was cut short); reported what precedes it\n`,
    );
  if (values.csv) {
    try {
      writeFileSync(values.csv, csv(rep));
    } catch (e) {
      throw new UsageError(
        `cannot write ${values.csv} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable path with --csv`,
      );
    }
    view.line(`csv written to ${values.csv}`);
  }
  return 0;
}
