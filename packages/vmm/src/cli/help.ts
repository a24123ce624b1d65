// `pvkit --help` and `pvkit <command> --help`: what each command does, its
// options, and the exit codes every command shares.
import { EXIT } from './errors.ts';

export interface CommandHelp {
  usage: string;
  summary: string;
  details: string[];
}

export const COMMANDS: Record<string, CommandHelp> = {
  run: {
    usage: 'pvkit run <config.json> [--stat] [--stats]',
    summary: 'boot the domains of a config file; print their consoles and state changes',
    details: [
      'Each console line is prefixed with its domain name; "* name (domid N): state" lines',
      'report state changes. The run ends when every domain has ended. While it runs,',
      '`pvkit stat` can watch it (control socket pvkit-<pid>.sock in the temp directory).',
      '  --stat    a live table of per-domain rates, refreshed every second',
      "  --stats   each domain's counters when it has ended",
      'Ctrl-C destroys every domain.',
    ],
  },
  stat: {
    usage: 'pvkit stat [--pid N] [--once] [--interval S]',
    summary: 'live per-domain rates of a running `pvkit run` (like xentop or kvm_stat)',
    details: [
      'Hypercalls/s (and by call), events/s, device kicks/s and interrupts/s, blk MB/s,',
      'net packets/s and MB/s, from the counters the VMM and its backends keep.',
      'With one VMM running it picks it; with several name one with --pid.',
      '  --pid N        the VMM (a `pvkit run` process) to watch',
      '  --once         print one table after one interval, then exit',
      '  --interval S   seconds between tables (default 1)',
      'On a terminal the table redraws in place; otherwise each table is printed in turn.',
    ],
  },
  restart: {
    usage: 'pvkit restart <domain> <device> [--pid N]',
    summary: 'start a fresh backend for a device of a running domain; the guest re-probes it',
    details: [
      'Asks a running `pvkit run` (its control socket, as `pvkit stat` finds it) to stop',
      "the device's backend (or bury a dead one) and start a new one with the same config",
      '(same image file, switch or wire). The guest resets the device and re-runs its init',
      'sequence. <domain> is a name or domid, <device> a name ("vda", "eth0") or an index.',
      '  --pid N   the VMM to ask, when several are running',
    ],
  },
  trace: {
    usage:
      'pvkit trace record <config.json> -o <file.trace> | pvkit trace report <file.trace> [--csv out.csv]',
    summary: 'record every trap, multicall entry and event of a run; report on a recording',
    details: [
      'record: runs the config like `pvkit run` and streams one msgpack map per trap,',
      '  multicall entry and event (domain, vCPU, call, args, result, start, duration) to',
      '  the file while the run goes on (bounded memory). --capacity N sets the ring the',
      '  hypervisor writes into (records; a power of two, default 65536); records that',
      '  do not fit are counted as dropped and reported.',
      'report: counts and latency percentiles (p50/p90/p99/max) per domain and call;',
      '  --csv writes the same table as CSV.',
    ],
  },
  bench: {
    usage:
      'pvkit bench <ring|hypercall|blk|net|all> [--quick] [--json] [--runs N] [--plot out.svg]',
    summary: 'run a benchmark family beside its native floor (bench/main.ts)',
    details: [
      'Progress and tables go to stderr; --json prints one JSON document on stdout',
      '(an array of them for `all`); --plot writes SVG charts of pvkit vs native.',
      '--quick keeps each case short (CI smoke). Figures: BENCHMARKS.md.',
    ],
  },
  demo: {
    usage: 'pvkit demo',
    summary: 'two guests with disks on a switch: blkverify, ping, a UDP stream, then a table',
    details: [
      'Disk images are sparse temporary files, removed at the end (also on Ctrl-C).',
      'Progress redraws on a terminal; otherwise plain lines. `pnpm demo` runs it.',
    ],
  },
  help: {
    usage: 'pvkit help [command]',
    summary: "this text, or one command's",
    details: [],
  },
};

const EXIT_LINES = [
  `  ${EXIT.ok}    ok: every guest, check or benchmark succeeded`,
  `  ${EXIT.failed}    a guest failed: a domain crashed or was destroyed, an app exited non-zero,`,
  '       a demo check or a benchmark failed',
  `  ${EXIT.usage}    usage or configuration error: nothing was started`,
  `  ${EXIT.host}    runtime or host error: a worker or host resource failed, no running VMM`,
  '       to talk to, an unreadable trace file',
  `  ${EXIT.interrupted}  interrupted (Ctrl-C): domains destroyed, temporary files removed`,
];

export function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'pvkit: a paravirtualization framework in TypeScript (hypervisor, PV guest kernel, virtio)',
    '',
    'usage: pvkit <command> [options]      (in this repository: pnpm pvkit <command>)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    '`pvkit <command> --help` shows its options.',
    '',
    'exit codes:',
    ...EXIT_LINES,
    '',
    'Errors are one line on stderr naming the problem and the fix.',
  ].join('\n');
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name];
  return [`usage: ${c.usage}`, '', c.summary, '', ...c.details, '', 'exit codes:', ...EXIT_LINES]
    .join('\n')
    .replace(/\n\n\n/g, '\n\n');
}
