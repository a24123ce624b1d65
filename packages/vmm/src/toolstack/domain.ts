// A domain as the toolstack records it: configuration, state, exit reason,
// console log and statistics. The statistics are read straight from the
// counters the hypervisor service writes (no message per trap).
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import {
  DOMAIN_COUNTER,
  readCallStats,
  readPortStats,
  SHUTDOWN,
  VCPU_RUNSTATE,
} from '@pvkit/hypercall';
import { type DeviceControl, type DeviceCounters, QUEUE_COUNTER } from '@pvkit/virtio-ring';
import type { DeviceEntry } from '../boot/guest-memory.ts';
import type { DomainConfig } from '../config/schema.ts';
import {
  type DeviceAttachment,
  type DeviceConfigKey,
  deviceBackendFor,
} from '../devices/registry.ts';
import { CALL_NAMES } from '../service/dispatch.ts';

export type DomainState = 'created' | 'running' | 'paused' | 'shutdown' | 'crashed' | 'destroyed';
export type ExitReason = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'destroyed';

export interface ExitInfo {
  reason: ExitReason;
  /** The guest's exit code (sched_op(shutdown)'s second argument); 0 if none. */
  code: number;
  /** Why, for crashes: the guest's exception or the ABI violation. */
  detail?: string;
}

const REASON_NAMES = new Map<number, ExitReason>(
  Object.entries(SHUTDOWN).map(([name, n]) => [n, name as ExitReason]),
);

export function exitReasonOf(n: number): ExitReason {
  return REASON_NAMES.get(n) ?? 'crash';
}

export interface DomainStats {
  domid: number;
  name: string;
  state: DomainState;
  vcpu: keyof typeof VCPU_RUNSTATE;
  hypercalls: number;
  multicallEntries: number;
  timerFires: number;
  eventsDelivered: number;
  blocks: number;
  polls: number;
  consoleBytes: number;
  calls: { nr: number; name: string; count: number; totalNs: number; maxNs: number }[];
  ports: { port: number; sends: number; deliveries: number }[];
  /** Per device, the backends' queue counters summed over queues. */
  devices: DeviceStats[];
}

export type DeviceStats = { name: string } & Record<keyof typeof QUEUE_COUNTER, number> & {
    /** The config key the device came from ("disks", "nics"). */
    key: string;
    /** The generic counters of each queue (e.g. a NIC's receiveq, transmitq). */
    queues: Record<keyof typeof QUEUE_COUNTER, number>[];
    /** The device type's own counters by name (its backend's counterNames), summed over queues. */
    counters: Record<string, number>;
  };

/** Console lines kept per domain; older lines are dropped (and counted). */
export const CONSOLE_LOG_LINES = 10_000;

const RUNSTATES = Object.keys(VCPU_RUNSTATE) as (keyof typeof VCPU_RUNSTATE)[];

export class Domain extends EventEmitter<{
  console: [line: string];
  state: [state: DomainState];
}> {
  readonly domid: number;
  readonly name: string;
  readonly config: DomainConfig;
  readonly memory: SharedArrayBuffer;
  readonly counters: Float64Array;
  state: DomainState = 'created';
  exit: ExitInfo | null = null;
  /** The console, line by line (the last CONSOLE_LOG_LINES). */
  readonly consoleLog: string[] = [];
  consoleDropped = 0;
  /** Resolves once the domain has ended, however it ended. */
  readonly exited: Promise<ExitInfo>;
  /** @internal */ vcpus: Worker[] = [];
  /** @internal */ devices: DeviceAttachment[] = [];
  /** @internal The config key of each device, in the order of `devices`. */
  deviceKeys: DeviceConfigKey[] = [];
  /** @internal The start_info device table, and each entry's control block (same order). */
  deviceEntries: DeviceEntry[] = [];
  /** @internal */ deviceControls: DeviceControl[] = [];
  /** @internal */ resolveExit!: (e: ExitInfo) => void;
  /** @internal */ mailboxes: SharedArrayBuffer[];
  /** @internal */ deviceDoorbells: SharedArrayBuffer | null;

  constructor(
    domid: number,
    config: DomainConfig,
    memory: SharedArrayBuffer,
    counters: SharedArrayBuffer,
    mailboxes: SharedArrayBuffer[],
    deviceDoorbells: SharedArrayBuffer | null,
  ) {
    super();
    this.domid = domid;
    this.name = config.name;
    this.config = config;
    this.memory = memory;
    this.counters = new Float64Array(counters);
    this.mailboxes = mailboxes;
    this.deviceDoorbells = deviceDoorbells;
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** @internal */
  setState(s: DomainState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  /** @internal */
  addConsoleLine(line: string): void {
    this.consoleLog.push(line);
    if (this.consoleLog.length > CONSOLE_LOG_LINES) {
      this.consoleLog.shift();
      this.consoleDropped++;
    }
    this.emit('console', line);
  }

  /** The whole console log as text. */
  consoleText(): string {
    return this.consoleLog.join('\n');
  }

  /** A snapshot of this domain's counters (what `pvkit stat` shows). */
  stats(): DomainStats {
    const c = this.counters;
    return {
      domid: this.domid,
      name: this.name,
      state: this.state,
      vcpu: RUNSTATES[c[DOMAIN_COUNTER.vcpu_state]] ?? 'running',
      hypercalls: c[DOMAIN_COUNTER.hypercalls],
      multicallEntries: c[DOMAIN_COUNTER.multicall_entries],
      timerFires: c[DOMAIN_COUNTER.timer_fires],
      eventsDelivered: c[DOMAIN_COUNTER.events_delivered],
      blocks: c[DOMAIN_COUNTER.blocks],
      polls: c[DOMAIN_COUNTER.polls],
      consoleBytes: c[DOMAIN_COUNTER.console_bytes],
      calls: readCallStats(c).map((s) => ({ ...s, name: CALL_NAMES.get(s.nr) ?? `#${s.nr}` })),
      ports: readPortStats(c),
      devices: this.devices.flatMap((d, i) => (d.counters ? [this.deviceStats(d, i)] : [])),
    };
  }

  private deviceStats(d: DeviceAttachment, i: number): DeviceStats {
    const c = d.counters as DeviceCounters;
    const key = this.deviceKeys[i] ?? 'devices';
    const names = deviceBackendFor(key as DeviceConfigKey)?.counterNames ?? [];
    const counters: Record<string, number> = {};
    names.forEach((n, slot) => {
      if (slot < c.deviceSlots) counters[n] = c.deviceTotal(slot);
    });
    const queues = Array.from({ length: c.nrQueues }, (_, q) => {
      const out = {} as Record<keyof typeof QUEUE_COUNTER, number>;
      for (const [n, slot] of Object.entries(QUEUE_COUNTER))
        out[n as keyof typeof QUEUE_COUNTER] = c.queueTotal(slot, q);
      return out;
    });
    return { name: d.name ?? `device ${i}`, key, ...c.totals(), queues, counters };
  }
}
