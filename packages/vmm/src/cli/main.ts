// `pvkit <command>`: the command line of the pvkit toolstack. Each command
// lives in its own file; this one dispatches, prints help, and turns every
// error into one line on stderr and an exit code (errors.ts, `pvkit --help`).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { benchCommand } from './bench.ts';
import { demoCommand } from './demo.ts';
import { EXIT, errorLine, exitCodeOf, UsageError } from './errors.ts';
import { COMMANDS, commandHelp, generalHelp } from './help.ts';
import { restartCommand } from './restart.ts';
import { runCommand } from './run.ts';
import { statCommand } from './stat.ts';
import { traceRecordCommand } from './trace-record.ts';
import { traceReportCommand } from './trace-report.ts';

const say = (text: string) => process.stdout.write(`${text}\n`);

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return `pvkit ${pkg.version} (node ${process.version})`;
}

async function trace(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'record') return traceRecordCommand(rest);
  if (sub === 'report') return traceReportCommand(rest);
  throw new UsageError(
    `${sub === undefined ? 'name a trace subcommand' : `unknown trace subcommand "${sub}"`}: record or report; usage: ${COMMANDS.trace.usage}`,
  );
}

const HANDLERS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  stat: statCommand,
  restart: restartCommand,
  trace,
  bench: benchCommand,
  demo: demoCommand,
};

/** Run one command line; resolves with the exit code (errors included). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      say(generalHelp());
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    }
    if (cmd === '--version' || cmd === '-V') {
      say(version());
      return EXIT.ok;
    }
    if (cmd === 'help') {
      const topic = rest[0];
      if (topic !== undefined && !(topic in COMMANDS))
        throw new UsageError(
          `no command "${topic}"; commands: ${Object.keys(COMMANDS).join(', ')}`,
        );
      say(topic ? commandHelp(topic) : generalHelp());
      return EXIT.ok;
    }
    const handler = HANDLERS[cmd];
    if (!handler)
      throw new UsageError(
        `unknown command "${cmd}"; commands: ${Object.keys(COMMANDS).join(', ')} (pvkit --help)`,
      );
    if (rest.includes('--help') || rest.includes('-h')) {
      say(commandHelp(cmd));
      return EXIT.ok;
    }
    return await handler(rest);
  } catch (e) {
    process.stderr.write(`pvkit: ${errorLine(e)}\n`);
    if (process.env.PVKIT_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return exitCodeOf(e);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // A reader that went away (`pvkit stat | head`) ends us quietly, as it ends `cat`.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    // Let stdout drain (a pipe), then leave even if a stray handle lingers.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 50).unref();
  });
}
