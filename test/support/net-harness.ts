// Helpers for the virtio-net end-to-end tests: domain configs with NICs, a
// NIC's counters by name (read from the shared counters the backends write),
// and a unique switch name per test (tests of one file share a process, and
// switches are per process).
import {
  NET_COUNTER,
  NET_COUNTER_NAMES,
  type NetCounterName,
} from '../../packages/backends/src/index.ts';
import { QUEUE_COUNTER } from '../../packages/virtio-ring/src/index.ts';
import type { Domain, DomainConfig } from '../../packages/vmm/src/index.ts';

let switches = 0;

/** A switch name no other test of this process uses. */
export function freshSwitch(): string {
  return `t${process.pid}-${++switches}`;
}

export function netDomain(
  name: string,
  nics: Record<string, unknown>[],
  apps: string[],
  extra: Partial<DomainConfig> = {},
): DomainConfig {
  return {
    name,
    memory: 16 << 20,
    vcpus: 1,
    cmdline: '',
    apps,
    disks: [],
    nics,
    ...extra,
  };
}

/** A domain running the hostile driver of test/guests/net-hostile.ts. */
export function hostileDomain(name: string, script: string, sw: string): DomainConfig {
  return netDomain(name, [{ backend: 'switch', switch: sw }], [], {
    memory: 4 << 20,
    cmdline: script,
    kernel: new URL('../guests/net-hostile.ts', import.meta.url).pathname,
  });
}

export type NicCounters = Record<NetCounterName, number> & {
  rxChains: number;
  txChains: number;
  txMalformed: number;
  txBroken: number;
  rxBroken: number;
  rxInterrupts: number;
};

/** NIC `index` of `dom`: its net counters and the generic counters of both queues. */
export function nicCounters(dom: Domain, index = 0): NicCounters {
  const c = dom.devices[index]?.counters;
  if (!c) throw new Error(`${dom.name} has no NIC ${index} with counters`);
  const out = {} as NicCounters;
  for (const n of NET_COUNTER_NAMES) out[n] = c.f64[c.deviceBase(1) + NET_COUNTER[n]];
  out.rxChains = c.queueTotal(QUEUE_COUNTER.chains, 0);
  out.txChains = c.queueTotal(QUEUE_COUNTER.chains, 1);
  out.txMalformed = c.queueTotal(QUEUE_COUNTER.malformed, 1);
  out.txBroken = c.queueTotal(QUEUE_COUNTER.broken, 1);
  out.rxBroken = c.queueTotal(QUEUE_COUNTER.broken, 0);
  out.rxInterrupts = c.queueTotal(QUEUE_COUNTER.interrupts, 0);
  return out;
}

/** The console lines of `dom` that start with `prefix`. */
export function linesOf(dom: Domain, prefix: string): string[] {
  return dom.consoleLog.filter((l) => l.startsWith(prefix));
}
