// `pvkit restart <domain> <device> [--pid N]`: ask a running `pvkit run` (by
// its control socket) to start a fresh backend for one device of one domain;
// the guest resets and re-probes the device (Vmm.restartDevice).
import { expectPositionals, parseCommand } from './args.ts';
import { EXIT, HostError } from './errors.ts';
import { COMMANDS } from './help.ts';
import { connectVmm, pickVmm } from './stat.ts';

export async function restartCommand(argv: string[]): Promise<number> {
  const { usage } = COMMANDS.restart;
  const { values, positionals } = parseCommand(argv, { pid: { type: 'string' } }, usage);
  const [domain, device] = expectPositionals(positionals, ['domain', 'device'], usage);
  const target = pickVmm(values.pid);
  const client = await connectVmm(target);
  try {
    const r = await client.restart(domain, device);
    if (r === null) throw new HostError(`the VMM of pid ${target.pid} exited meanwhile`);
    if (r.error !== undefined) throw new HostError(r.error);
    process.stdout.write(`${r.ok}\n`);
    return EXIT.ok;
  } finally {
    client.close();
  }
}
