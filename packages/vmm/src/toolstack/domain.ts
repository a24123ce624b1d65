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
import {
  type DeviceControl,
  type DeviceCounters,
  QUEUE_COUNTER,
  type WasmMemory,
} from '@pvkit/virtio-ring';
import type { DeviceEntry } from '../boot/guest-memory.ts';
import type { RestartPolicy } from '../config/restart.ts';
import type { DomainConfig } from '../config/schema.ts';
import {
  type DeviceAttachContext,
  type DeviceAttachment,
  type DeviceConfigKey,
  deviceBackendFor,
} from '../devices/registry.ts';
import { CALL_NAMES } from '../service/dispatch.ts';

export type DomainState = 'created' | 'running' | 'paused' | 'shutdown' | 'crashed' | 'destroyed';
export type ExitReason = 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog' | 'destroyed';

export interface ExitInfo {
  reason: ExitReason;
  /** The guest's exit code (sched_op(shutdown)'s second argument); 0 if none. */
  code: number;
  /** Why, for crashes and watchdogs: the guest's exception, the ABI violation, the timeout. */
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
/** What an ended domain keeps of its console: the last lines, within both bounds. */
export const ENDED_CONSOLE_LINES = 1000;
export const ENDED_CONSOLE_CHARS = 256 * 1024;

const RUNSTATES = Object.keys(VCPU_RUNSTATE) as (keyof typeof VCPU_RUNSTATE)[];

export class Domain extends EventEmitter<{
  console: [line: string];
  state: [state: DomainState];
}> {
  declare readonly domid: number;
  declare readonly name: string;
  declare readonly config: DomainConfig;
  state: DomainState = 'created';
  exit: ExitInfo | null = null;
  /** The console, line by line (the last CONSOLE_LOG_LINES; ENDED_CONSOLE_* once ended). */
  readonly consoleLog: string[] = [];
  consoleDropped = 0;
  /** Resolves once the domain has ended, however it ended. */
  declare readonly exited: Promise<ExitInfo>;
  /** @internal */ vcpus: Worker[] = [];
  /** @internal Once ended: only each device's name and counters. */
  devices: DeviceAttachment[] = [];
  /** @internal What each device's backend was attached with (a restart reuses it). */
  deviceContexts: DeviceAttachContext[] = [];
  /** @internal Each device's "restart" policy, and the automatic restarts it has had. */
  restartPolicies: RestartPolicy[] = [];
  /** @internal */ autoRestarts: number[] = [];
  /** @internal The config key of each device, in the order of `devices`. */
  deviceKeys: DeviceConfigKey[] = [];
  /** @internal The start_info device table, and each entry's control block (same order). */
  deviceEntries: DeviceEntry[] = [];
  /** @internal */ deviceControls: DeviceControl[] = [];
  /** @internal */ declare resolveExit: (e: ExitInfo) => void;
  /** @internal */ declare mailboxes: SharedArrayBuffer[];
  /** @internal */ declare deviceDoorbells: SharedArrayBuffer | null;
  /** @internal Stops the toolstack watchdog, if the config asked for one. */
  stopWatchdog: (() => void) | null = null;
  declare private mem: SharedArrayBuffer | null;
  /** @internal The same memory as a shared WebAssembly.Memory, if it is one (GuestImage). */
  wasmMemory: WasmMemory | null = null;
  declare private liveCounters: Float64Array | null;
  /** The statistics at the end, once the live counters are released. */
  private final: DomainStats | null = null;

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
    this.mem = memory;
    this.liveCounters = new Float64Array(counters);
    this.mailboxes = mailboxes;
    this.deviceDoorbells = deviceDoorbells;
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  /** The guest's memory; released when the domain ends (reading it then throws). */
  get memory(): SharedArrayBuffer {
    if (this.mem === null) throw new Error(`domain ${this.name} has ended: its memory is released`);
    return this.mem;
  }

  /** The service's live counters (DOMAIN_COUNTER); released at the end, when stats() freezes. */
  get counters(): Float64Array {
    if (this.liveCounters === null)
      throw new Error(`domain ${this.name} has ended: read stats() instead of its counters`);
    return this.liveCounters;
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

  /**
   * @internal The domain has ended and its vCPUs and backends have stopped:
   * freeze its statistics and drop what only a running domain needs (guest
   * memory, mailboxes, doorbells, backend handles, listeners), so that a
   * long-lived VMM keeps a small record per ended domain.
   */
  release(): void {
    if (this.final !== null) return;
    this.final = this.stats();
    this.mem = null;
    this.wasmMemory = null;
    this.liveCounters = null;
    this.mailboxes = [];
    this.deviceDoorbells = null;
    this.vcpus = [];
    this.deviceContexts = [];
    this.devices = this.devices.map((d) => ({
      detach: async () => {},
      ...(d.name !== undefined ? { name: d.name } : {}),
      ...(d.counters !== undefined ? { counters: d.counters } : {}),
    }));
    let chars = 0;
    let keep = 0;
    for (let i = this.consoleLog.length - 1; i >= 0 && keep < ENDED_CONSOLE_LINES; i--, keep++) {
      chars += this.consoleLog[i].length;
      if (chars > ENDED_CONSOLE_CHARS) break;
    }
    const drop = this.consoleLog.length - keep;
    if (drop > 0) {
      this.consoleLog.splice(0, drop);
      this.consoleDropped += drop;
    }
    this.removeAllListeners();
  }

  /** A snapshot of this domain's counters (what `pvkit stat` shows); frozen once it has ended. */
  stats(): DomainStats {
    if (this.final !== null) return { ...this.final, state: this.state };
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
