// The named switches of this process, toolstack side. A switch is one
// worker (@pvkit/backends switch-worker), started when the first NIC is
// plugged into it and stopped when the last one is unplugged; every domain
// whose NIC names "lan0" is on the same one, like domains on one Linux
// bridge of a host (and so are domains of two Vmm objects in one process).
//
// Plugging a NIC in hands the switch that domain's memory, control block,
// counters and doorbells (a message: the switch yields to its event loop at
// least every few ms); unplugging waits until the switch has forgotten them.
import type { Worker } from 'node:worker_threads';
import {
  BACKEND_READY,
  type FromSwitch,
  NET_COUNTER_NAMES,
  type NetPortData,
  type SwitchWorkerData,
  switchWorkerEntry,
  type ToSwitch,
} from '@pvkit/backends';
import { DeviceCounters, type DeviceDescription } from '@pvkit/virtio-ring';
import type { DeviceAttachContext, DeviceAttachment } from './registry.ts';
import { announceBackendDeath } from './virtio-backend.ts';

/** How long a switch may take to stop before it is terminated. */
const STOP_GRACE_MS = 2000;

class SwitchHandle {
  declare readonly name: string;
  declare readonly worker: Worker;
  declare readonly exited: Promise<void>;
  /** NICs plugged in, or being plugged in. */
  ports = 0;
  nextId = 1;
  stopping = false;
  private readonly waiting = new Map<number, { ok: () => void; fail: (e: Error) => void }>();
  private readonly logs = new Map<number, (line: string) => void>();
  /** What to do for each plugged NIC if the switch dies (tell its driver). */
  readonly lost = new Map<number, () => void>();

  constructor(name: string, worker: Worker) {
    this.name = name;
    this.worker = worker;
    this.exited = new Promise((r) => worker.once('exit', () => r()));
    worker.on('message', (m: FromSwitch) => {
      if (typeof m !== 'object' || m === null) return;
      if (m.t === 'log') for (const log of this.logs.values()) log(`switch ${name}: ${m.line}`);
      else this.answer(m.id, m.t === 'error' ? new Error(m.message) : null);
    });
    worker.once('exit', (code) => {
      const why = new Error(`switch ${name} stopped (exit code ${code})`);
      if (!this.stopping) {
        for (const log of this.logs.values()) log(`${why.message}: its NICs are cut off`);
        for (const cut of this.lost.values()) cut();
      }
      for (const w of this.waiting.values()) w.fail(why);
      this.waiting.clear();
      this.stopping = true;
      if (switches.get(name)?.handle === this) switches.delete(name);
    });
  }

  private answer(id: number, err: Error | null): void {
    const w = this.waiting.get(id);
    this.waiting.delete(id);
    if (err) w?.fail(err);
    else w?.ok();
  }

  request(m: ToSwitch & { id: number }, log?: (line: string) => void): Promise<void> {
    if (this.stopping) return Promise.reject(new Error(`switch ${this.name} is stopping`));
    if (log) this.logs.set(m.id, log);
    if (m.t === 'remove') this.logs.delete(m.id);
    return new Promise((ok, fail) => {
      this.waiting.set(m.id, { ok, fail });
      this.worker.postMessage(m);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (switches.get(this.name)?.handle === this) switches.delete(this.name);
    this.worker.postMessage({ t: 'stop' } satisfies ToSwitch);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_GRACE_MS)));
    const how = await Promise.race([this.exited.then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (how === 'late') await this.worker.terminate();
  }
}

/** A switch's worker, from its start until it said it is ready (then `handle`). */
class SwitchEntry {
  handle: SwitchHandle | null = null;
  declare readonly ready: Promise<SwitchHandle>;

  constructor(name: string, worker: Worker) {
    this.ready = new Promise<SwitchHandle>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (m !== BACKEND_READY) return;
        worker.off('message', onMessage);
        this.handle = new SwitchHandle(name, worker);
        resolve(this.handle);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (switches.get(name) === this && this.handle === null) switches.delete(name);
        reject(new Error(`switch ${name} exited (code ${code}) before it was ready`));
      });
    });
  }
}

const switches = new Map<string, SwitchEntry>();

/** Names of the switches whose worker runs now. */
export function liveSwitches(): string[] {
  return [...switches.entries()].filter(([, s]) => s.handle !== null).map(([name]) => name);
}

function startSwitch(name: string, ctx: DeviceAttachContext): Promise<SwitchHandle> {
  const data: SwitchWorkerData = { name };
  const entry = new SwitchEntry(name, ctx.startWorker(switchWorkerEntry(), data));
  switches.set(name, entry);
  return entry.ready;
}

/** The running switch `name`, started if needed; its port count already raised. */
async function claimSwitch(name: string, ctx: DeviceAttachContext): Promise<SwitchHandle> {
  for (;;) {
    const h = await (switches.get(name)?.ready ?? startSwitch(name, ctx));
    if (h.stopping) {
      // Its last NIC left meanwhile: start a fresh one.
      if (switches.get(name)?.handle === h) switches.delete(name);
      continue;
    }
    h.ports++;
    return h;
  }
}

async function unclaim(h: SwitchHandle): Promise<void> {
  if (--h.ports === 0 && !h.stopping) await h.stop();
}

/** Plug a NIC into switch `name`; its detach unplugs it (and stops the switch after the last). */
export async function attachToSwitch(
  ctx: DeviceAttachContext,
  name: string,
  nic: string,
  description: DeviceDescription,
): Promise<DeviceAttachment> {
  ctx.control.describe(description);
  const counters = DeviceCounters.create(
    description.queueMaxSizes.length,
    NET_COUNTER_NAMES.length,
  );
  const h = await claimSwitch(name, ctx);
  const id = h.nextId++;
  const data: NetPortData = {
    memory: ctx.memory,
    ...(ctx.wasmMemory ? { wasmMemory: ctx.wasmMemory } : {}),
    control: ctx.control.buffer,
    counters: counters.buffer,
    doorbells: ctx.doorbells,
    doorbell: ctx.doorbell,
    evtchn: ctx.evtchn,
  };
  try {
    await h.request({ t: 'add', id, name: `${ctx.domainName}/${nic}`, data }, ctx.log);
  } catch (e) {
    await unclaim(h);
    throw e;
  }
  // A dead switch serves nobody: the driver must see DEVICE_NEEDS_RESET, not hang.
  h.lost.set(id, () =>
    announceBackendDeath(
      ctx,
      description.queueMaxSizes.map((_, q) => q),
    ),
  );
  let detached = false;
  return {
    name: nic,
    counters,
    // The switch is this NIC's backend (shared with the other NICs plugged into it).
    workers: [h.worker],
    async detach() {
      if (detached) return;
      detached = true;
      h.lost.delete(id);
      ctx.control.requestStop();
      await h.request({ t: 'remove', id }).catch(() => undefined); // a dead switch holds nothing
      await unclaim(h);
    },
  };
}
