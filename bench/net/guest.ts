// The guest side of `pnpm bench net`: two fresh domains per run on a switch
// of their own, `netperf server` in one and the `netperf stream|rr` client
// in the other; the figures are what the server's app received (stream) or
// the client's completed transactions (rr), from its netperf-json line.
import { NET_COUNTER, type NET_COUNTER_NAMES } from '../../packages/backends/src/index.ts';
import { QUEUE_COUNTER } from '../../packages/virtio-ring/src/index.ts';
import type { Domain, Vmm } from '../../packages/vmm/src/index.ts';

export interface GuestNetRun {
  /** pps at the receiving app (stream) or transactions/s (rr). */
  value: number;
  mbps?: number;
  lossPct?: number;
  p50us?: number;
  p99us?: number;
  /** Per frame through the switch: guest kicks, interrupts raised, switch sleeps. */
  kicksPerFrame: number;
  interruptsPerFrame: number;
  rxDropped: number;
}

let runs = 0;

export async function guestNet(
  vmm: Vmm,
  mode: 'stream' | 'rr',
  size: number,
  seconds: number,
  warmup: number,
  offload: boolean,
): Promise<GuestNetRun> {
  const sw = `bench-${process.pid}-${++runs}`;
  const cmdline = offload ? '' : 'net.csum=off';
  const dom = (name: string, ip: string, app: string) => ({
    name: `${name}-${runs}`,
    memory: 32 << 20,
    vcpus: 1,
    cmdline,
    apps: [app],
    disks: [],
    nics: [{ backend: 'switch', switch: sw, ip }],
  });
  const [srv, cli] = await vmm.createDomains([
    dom('srv', '10.0.0.2/24', 'netperf server 5001 1'),
    dom('cli', '10.0.0.1/24', `netperf ${mode} 10.0.0.2 5001 ${size} ${seconds} ${warmup}`),
  ]);
  for (const d of [srv, cli]) vmm.start(d);
  const [ec, es] = await Promise.all([cli.exited, srv.exited]);
  if (ec.code !== 0 || es.code !== 0 || ec.reason !== 'poweroff')
    throw new Error(`netperf ${mode} ${size} failed:\n${cli.consoleText()}\n${srv.consoleText()}`);
  const line = cli.consoleLog.find((l) => l.startsWith('netperf-json '));
  if (!line) throw new Error(`no netperf-json line:\n${cli.consoleText()}`);
  const j = JSON.parse(line.slice('netperf-json '.length)) as Record<string, number>;
  const frames = Math.max(1, counter(cli, 1, QUEUE_COUNTER.chains));
  return {
    value: mode === 'stream' ? j.pps : j.tps,
    ...(mode === 'stream'
      ? { mbps: j.mbps, lossPct: j.lossPct }
      : { p50us: j.p50us, p99us: j.p99us }),
    kicksPerFrame: counter(cli, 1, QUEUE_COUNTER.kicks) / frames,
    interruptsPerFrame: counter(srv, 0, QUEUE_COUNTER.interrupts) / frames,
    rxDropped: net(srv, 'rxDropped'),
  };
}

function counter(d: Domain, queue: number, slot: number): number {
  return d.devices[0]?.counters?.queueTotal(slot, queue) ?? 0;
}

function net(d: Domain, name: (typeof NET_COUNTER_NAMES)[number]): number {
  const c = d.devices[0]?.counters;
  return c ? c.f64[c.deviceBase(1) + NET_COUNTER[name]] : 0;
}
