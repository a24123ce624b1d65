// `pvkit run <config.json> [--stat] [--stats]`
import { expectPositionals, parseCommand } from './args.ts';
import { loadConfigFile } from './config-file.ts';
import { COMMANDS } from './help.ts';
import { LiveView } from './live.ts';
import { Session } from './session.ts';
import { formatStats } from './stats.ts';

export async function runCommand(argv: string[]): Promise<number> {
  const { usage } = COMMANDS.run;
  const { values, positionals } = parseCommand(
    argv,
    { stat: { type: 'boolean' }, stats: { type: 'boolean' } },
    usage,
  );
  const [file] = expectPositionals(positionals, ['<config.json>'], usage);
  const configs = loadConfigFile(file);

  const session = new Session({ command: `run ${file}`, view: new LiveView(process.stdout) });
  try {
    await session.listen();
    await session.boot(configs);
    if (values.stat) session.liveStat();
    const exits = await session.waitAll();
    if (values.stats) for (const d of session.domains) session.view.line(formatStats(d.stats()));
    return session.exitCode(exits);
  } finally {
    await session.close();
  }
}
