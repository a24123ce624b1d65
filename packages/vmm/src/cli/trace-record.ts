// `pvkit trace record <config.json> -o <file.trace> [--capacity N]`: run the
// config as `pvkit run` does while the hypervisor writes every trap,
// multicall entry and event into a trace ring; drain the ring every few ms
// into the file, so memory stays bounded by the ring however long the run.
import { CALL_NAMES } from '../service/dispatch.ts';
import { expectPositionals, parseCommand } from './args.ts';
import { loadConfigFile } from './config-file.ts';
import { UsageError } from './errors.ts';
import { LiveView } from './live.ts';
import { Session } from './session.ts';
import { TRACE_FORMAT, TRACE_VERSION, TraceWriter, traceItem } from './trace-file.ts';

const DRAIN_MS = 10;
const DEFAULT_CAPACITY = 1 << 17;

const callName = (nr: number) => CALL_NAMES.get(nr) ?? `#${nr}`;

function capacityOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CAPACITY;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 1 << 24 || (n & (n - 1)) !== 0)
    throw new UsageError(`--capacity takes a power of two from 1024 to 16777216, got "${raw}"`);
  return n;
}

export async function traceRecordCommand(argv: string[]): Promise<number> {
  const usage = 'pvkit trace record <config.json> -o <file.trace> [--capacity N]';
  const { values, positionals } = parseCommand(
    argv,
    { out: { type: 'string', short: 'o' }, capacity: { type: 'string' } },
    usage,
  );
  const [file] = expectPositionals(positionals, ['<config.json>'], usage);
  if (!values.out)
    throw new UsageError(`name the output file with -o <file.trace>; usage: ${usage}`);
  const capacity = capacityOf(values.capacity);
  const configs = loadConfigFile(file);
  let writer: TraceWriter;
  try {
    writer = new TraceWriter(values.out);
  } catch (e) {
    throw new UsageError(
      `cannot write ${values.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose a writable path with -o`,
    );
  }

  const session = new Session({
    command: `trace record ${file}`,
    view: new LiveView(process.stdout),
  });
  let records = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await session.listen();
    const ring = await session.vmm.enableTrace(capacity);
    writer.write([
      {
        kind: 'header',
        format: TRACE_FORMAT,
        version: TRACE_VERSION,
        startedAt: new Date().toISOString(),
        command: `trace record ${file}`,
        calls: Object.fromEntries(CALL_NAMES),
      },
    ]);
    const drain = () => {
      const batch = ring.drain();
      records += batch.length;
      writer.write(batch.map((r) => traceItem(r, callName)));
    };
    const domains = await session.boot(configs);
    writer.write(domains.map((d) => ({ kind: 'domain', domid: d.domid, name: d.name })));
    timer = setInterval(drain, DRAIN_MS);
    const exits = await session.waitAll();
    clearInterval(timer);
    drain(); // the last traps (shutdowns) are in the ring before their domain is reported ended
    const dropped = ring.dropped;
    await session.vmm.disableTrace();
    writer.write([
      {
        kind: 'end',
        records,
        dropped,
        domains: domains.map((d) => {
          const s = d.stats();
          return {
            domid: d.domid,
            name: d.name,
            exit: d.exit,
            calls: s.calls.map((c) => ({ nr: c.nr, name: c.name, count: c.count })),
            eventsDelivered: s.eventsDelivered,
          };
        }),
      },
    ]);
    session.view.line(
      `* trace: ${records} records (${(writer.bytes / 1e6).toFixed(1)} MB) written to ${values.out}` +
        (dropped
          ? `; ${dropped} DROPPED (the ring was full: try --capacity ${capacity * 4})`
          : '; none dropped'),
    );
    return session.exitCode(exits);
  } finally {
    clearInterval(timer);
    writer.close();
    await session.close();
  }
}
