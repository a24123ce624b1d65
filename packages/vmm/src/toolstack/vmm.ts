// The toolstack (Xen's xl/libxl, in one class): it creates domains, starts
// their vCPU workers, pauses, shuts down and destroys them, and records how
// each ended. The hypercall service runs in its own worker, shared by every
// domain of this VMM (docs/wiring.md says why).
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type TransferListItem, Worker } from 'node:worker_threads';
import type { BootParams } from '@pvkit/guest-kernel';
import {
  createMailbox,
  DOMAIN_COUNTERS_BYTES,
  hostClockMs,
  START_INFO_GPA,
  TraceRing,
  VIRQ,
} from '@pvkit/hypercall';
import { DeviceControl, Doorbell } from '@pvkit/virtio-ring';
import { bundleEntry } from '../boot/bundle.ts';
import { buildGuestImage } from '../boot/guest-memory.ts';
import { compileOnWorkerThreads } from '../boot/worker-teardown.ts';
import { ConfigError, type DomainConfig } from '../config/schema.ts';
import '../devices/builtin.ts';
import { setNicLink } from '../devices/net-link.ts';
import type { DeviceAttachment } from '../devices/registry.ts';
import type { FromService } from '../service/protocol.ts';
import { restartDevice, restartOnFailure } from './device-restart.ts';
import { attachDevices, planDevices, prepareDevices } from './device-setup.ts';
import { Domain, type DomainState, type ExitInfo, exitReasonOf } from './domain.ts';
import { ServiceClient, type ServiceStats } from './service-client.ts';
import { watchVcpu } from './watchdog.ts';

const require = createRequire(import.meta.url);
/** The built-in guest kernel's worker entry. */
export const KERNEL_ENTRY = join(dirname(require.resolve('@pvkit/guest-kernel')), 'entry.ts');

export interface VmmOptions {
  /** µs the service keeps spinning after the last trap before it sleeps (default 50). */
  spinUs?: number;
  /** Heap limit of each vCPU worker in MiB (default 256): a greedy guest fails alone. */
  vcpuHeapMb?: number;
  /**
   * Ended domains kept in `domains` for reporting (default 1000; the oldest
   * go first). Each keeps only its record: name, exit, console tail, stats.
   */
  keepEnded?: number;
}

export class Vmm extends EventEmitter<{
  console: [dom: Domain, line: string];
  state: [dom: Domain, state: DomainState];
  exit: [dom: Domain, exit: ExitInfo];
}> {
  /** Host clock (ms) at system time 0 for every domain of this VMM. */
  readonly timeBaseMs = hostClockMs();
  declare private readonly opts: Required<VmmOptions>;
  private svc: ServiceClient | null = null;
  private nextDomid = 1;
  private readonly byId = new Map<number, Domain>();
  private readonly workers = new Set<Worker>();
  private closing = false;

  constructor(opts: VmmOptions = {}) {
    super();
    compileOnWorkerThreads(); // before any worker: boot/worker-teardown.ts says why
    this.opts = {
      spinUs: opts.spinUs ?? 50,
      vcpuHeapMb: opts.vcpuHeapMb ?? 256,
      keepEnded: opts.keepEnded ?? 1000,
    };
  }

  /** The domains this VMM created, in creation order (ended ones: the last `keepEnded`). */
  get domains(): Domain[] {
    return [...this.byId.values()];
  }

  /** Live worker threads: vCPUs, device backends and the service. */
  workerCount(): number {
    return this.workers.size;
  }

  serviceStats(): ServiceStats | null {
    return this.svc?.stats() ?? null;
  }

  private service(): ServiceClient {
    if (this.svc) return this.svc;
    const svc = new ServiceClient(this.timeBaseMs, this.opts.spinUs, (m) => this.fromService(m));
    this.track(svc.worker);
    svc.worker.on('error', (e) => this.serviceDied(`hypervisor service failed: ${e.message}`));
    svc.worker.on('exit', () => this.serviceDied('hypervisor service stopped'));
    this.svc = svc;
    return svc;
  }

  private track(w: Worker): void {
    this.workers.add(w);
    w.once('exit', () => this.workers.delete(w));
  }

  /** Create domains from validated configs; "@name" in app commands becomes that domain's domid. */
  async createDomains(configs: readonly DomainConfig[]): Promise<Domain[]> {
    const ids = new Map<string, number>();
    for (const d of this.byId.values()) if (d.alive) ids.set(d.name, d.domid);
    configs.forEach((c, i) => {
      if (ids.has(c.name)) throw new ConfigError(`name "${c.name}" is taken by a running domain`);
      ids.set(c.name, this.nextDomid + i);
    });
    const out: Domain[] = [];
    for (const c of configs) {
      const apps = c.apps.map((cmd) =>
        cmd.replace(/@([A-Za-z0-9_.-]+)/g, (ref, name: string) => {
          const id = ids.get(name);
          if (id === undefined) throw new ConfigError(`apps: "${ref}" names no domain`);
          return String(id);
        }),
      );
      out.push(await this.create({ ...c, apps }));
    }
    return out;
  }

  async createDomain(config: DomainConfig): Promise<Domain> {
    return (await this.createDomains([config]))[0];
  }

  private async create(config: DomainConfig): Promise<Domain> {
    const domid = this.nextDomid++;
    const plans = planDevices(config);
    // Host resources first (files, sizes), for every device: one clear error
    // before any worker of this domain starts.
    const prepared = prepareDevices(config, plans);
    let attachments: DeviceAttachment[] = [];
    try {
      const image = buildGuestImage({
        domid,
        name: config.name,
        bytes: config.memory,
        nrVcpus: config.vcpus,
        cmdline: config.cmdline,
        apps: config.apps,
        devices: plans.map((p) => p.device),
        timeBaseMs: this.timeBaseMs,
      });
      const mailboxes = Array.from({ length: config.vcpus }, () => createMailbox());
      const counters = new SharedArrayBuffer(DOMAIN_COUNTERS_BYTES);
      const nrBells = plans.reduce((n, p) => n + p.device.nrQueues, 0);
      const doorbells =
        nrBells > 0 ? (Doorbell.createWords(nrBells).buffer as SharedArrayBuffer) : null;
      const dom = new Domain(domid, config, image.memory, counters, mailboxes, doorbells);
      dom.wasmMemory = image.wasmMemory;
      const controls = plans.map((p) => DeviceControl.create(p.device.nrQueues));
      attachments = await attachDevices(dom, plans, controls, prepared, {
        startWorker: (entry, workerData, transferList) =>
          this.startBackend(entry, workerData, transferList),
        log: (line) => {
          dom.addConsoleLine(`vmm: ${line}`);
          this.emit('console', dom, `vmm: ${line}`);
        },
        backendDied: (i) => restartOnFailure(dom, i),
      });
      dom.devices = attachments;
      dom.deviceKeys = plans.map((p) => p.key);
      dom.deviceEntries = plans.map((p) => p.device);
      dom.deviceControls = controls;
      this.byId.set(domid, dom);
      this.service().send({
        t: 'create',
        setup: {
          domid,
          name: config.name,
          memory: image.memory,
          mailboxes,
          counters,
          reservedBytes: image.reservedBytes,
          devices: plans.map((p, i) => ({
            type: p.device.type,
            id: p.device.id,
            evtchn: p.device.evtchn,
            nrQueues: p.device.nrQueues,
            config: p.entry,
            control: controls[i].buffer,
            doorbells: doorbells as SharedArrayBuffer,
            doorbell: p.device.doorbell,
          })),
        },
      });
      return dom;
    } catch (e) {
      await Promise.all(attachments.map((a) => a.detach()));
      for (const [i, p] of plans.entries()) p.backend.release?.(prepared[i]);
      throw e;
    }
  }

  /** A backend worker, started from a bundle like a vCPU and counted in workerCount(). */
  private startBackend(entry: string, workerData: unknown, transferList?: TransferListItem[]) {
    const w = new Worker(bundleEntry(entry), {
      workerData,
      ...(transferList ? { transferList } : {}),
      execArgv: [], // a bundle needs no `--import tsx`
    });
    this.track(w);
    return w;
  }

  /** Start the domain's vCPU at its kernel's entry. */
  start(dom: Domain): void {
    if (dom.state !== 'created') throw new Error(`domain ${dom.name} is ${dom.state}, not created`);
    const boot: BootParams = {
      memory: dom.memory,
      mailbox: dom.mailboxes[0],
      serviceDoorbell: this.service().doorbell,
      startInfo: START_INFO_GPA,
    };
    if (dom.deviceDoorbells) boot.deviceDoorbells = dom.deviceDoorbells;
    if (dom.wasmMemory) boot.wasmMemory = dom.wasmMemory;
    const w = new Worker(bundleEntry(dom.config.kernel ?? KERNEL_ENTRY), {
      workerData: boot,
      // A bundle needs no loader: don't inherit `--import tsx` (~100 ms per worker).
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: this.opts.vcpuHeapMb },
      stdout: false,
      stderr: false,
    });
    this.track(w);
    dom.vcpus.push(w);
    w.on(
      'error',
      (e) => void this.crash(dom, `vCPU 0 threw: ${e instanceof Error ? e.message : String(e)}`),
    );
    w.on('exit', (code) => {
      if (dom.alive) void this.crash(dom, `vCPU 0 exited without a shutdown (exit code ${code})`);
    });
    if (dom.config.watchdog !== undefined)
      dom.stopWatchdog = watchVcpu(dom, dom.config.watchdog, (detail) => {
        void this.finish(dom, { reason: 'watchdog', code: 0, detail }, 'crashed', false);
      });
    this.setState(dom, 'running');
  }

  async pause(dom: Domain): Promise<void> {
    if (dom.state !== 'running') throw new Error(`domain ${dom.name} is ${dom.state}, not running`);
    const ok = await this.service().request({ t: 'pause', domid: dom.domid });
    if (ok && dom.alive) this.setState(dom, 'paused');
  }

  async unpause(dom: Domain): Promise<void> {
    if (dom.state !== 'paused') throw new Error(`domain ${dom.name} is ${dom.state}, not paused`);
    const ok = await this.service().request({ t: 'unpause', domid: dom.domid });
    if (ok && dom.alive) this.setState(dom, 'running');
  }

  /**
   * Plug (true) or pull (false) the cable of the domain's NIC `nic` (eth<nic>):
   * its virtio-net config status changes with a config interrupt, the guest
   * stops sending while it is down and announces itself (gratuitous ARP) when
   * it comes up; a switch drops frames for it meanwhile. False if it already was.
   */
  setLink(dom: Domain, nic: number, up: boolean): boolean {
    if (!dom.alive) throw new Error(`domain ${dom.name} is ${dom.state}`);
    return setNicLink(dom, nic, up);
  }

  /** Type text on the domain's console: console_io(read) returns it; VIRQ_CONSOLE is raised. */
  consoleInput(dom: Domain, text: string): void {
    if (!dom.alive) throw new Error(`domain ${dom.name} is ${dom.state}`);
    this.service().send({
      t: 'console-in',
      domid: dom.domid,
      bytes: new TextEncoder().encode(text),
    });
  }

  /** Ask the guest to shut down (VIRQ shutdown_request); destroy it if it has not in graceMs. */
  async shutdown(dom: Domain, graceMs = 5000): Promise<ExitInfo> {
    if (!dom.alive) return dom.exit as ExitInfo;
    this.service().send({ t: 'virq', domid: dom.domid, virq: VIRQ.shutdown_request });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
    const first = await Promise.race([dom.exited, late]);
    clearTimeout(timer);
    return first === 'late' ? this.destroy(dom) : first;
  }

  /**
   * Start a fresh backend for a device ("vda", "eth0" or its index) of a
   * live domain, with the same config; the guest resets and re-probes it
   * (./device-restart.ts). Rejects with DeviceRestartError (ended domain, no
   * such device, the backend could not start).
   */
  restartDevice(domain: number | Domain, device: string | number): Promise<void> {
    const dom = typeof domain === 'number' ? this.byId.get(domain) : domain;
    if (!dom) return Promise.reject(new Error(`no domain ${domain}`));
    return restartDevice(dom, device);
  }

  /** Tear the domain down now: its vCPU workers, timers, ports and backends. */
  destroy(dom: Domain): Promise<ExitInfo> {
    return this.finish(dom, { reason: 'destroyed', code: 0 }, 'destroyed', false);
  }

  private crash(dom: Domain, detail: string): Promise<ExitInfo> {
    return this.finish(dom, { reason: 'crash', code: 0, detail }, 'crashed', false);
  }

  private async finish(dom: Domain, exit: ExitInfo, state: DomainState, serviceDone: boolean) {
    if (!dom.alive) return dom.exited;
    dom.exit = exit;
    dom.stopWatchdog?.();
    if (!serviceDone && this.svc) await this.svc.request({ t: 'destroy', domid: dom.domid });
    await Promise.all(dom.vcpus.map((w) => w.terminate()));
    await Promise.all(dom.devices.map((d) => d.detach()));
    this.setState(dom, state);
    // Everything has stopped: the record stays, memory and handles go.
    dom.release();
    this.forgetEnded();
    dom.resolveExit(exit);
    this.emit('exit', dom, exit);
    return exit;
  }

  /** Drop the oldest ended records beyond `keepEnded`. */
  private forgetEnded(): void {
    let extra = -this.opts.keepEnded;
    for (const d of this.byId.values()) if (!d.alive) extra++;
    for (const [id, d] of this.byId) {
      if (extra <= 0) break;
      if (d.alive) continue;
      this.byId.delete(id);
      extra--;
    }
  }

  private setState(dom: Domain, s: DomainState): void {
    if (dom.state === s) return;
    dom.setState(s);
    this.emit('state', dom, s);
  }

  private fromService(m: FromService): void {
    if (m.t === 'ack') return;
    const dom = this.byId.get(m.domid);
    if (!dom) return;
    if (m.t === 'console') {
      dom.addConsoleLine(m.line);
      this.emit('console', dom, m.line);
    } else if (m.t === 'shutdown') {
      const reason = exitReasonOf(m.reason);
      const crashed = reason === 'crash' || reason === 'watchdog';
      // The service's word (a watchdog), else the guest's: its panic line, else its last line.
      const detail =
        m.detail ??
        (crashed
          ? (dom.consoleLog.findLast((l) => l.startsWith('panic:')) ?? dom.consoleLog.at(-1))
          : undefined);
      void this.finish(
        dom,
        { reason, code: m.code, ...(detail ? { detail } : {}) },
        crashed ? 'crashed' : 'shutdown',
        true,
      );
    } else if (m.t === 'crash') {
      void this.finish(dom, { reason: 'crash', code: 0, detail: m.detail }, 'crashed', true);
    }
  }

  private serviceDied(why: string): void {
    if (this.closing) return;
    this.svc = null;
    for (const dom of this.byId.values())
      if (dom.alive)
        void this.finish(dom, { reason: 'crash', code: 0, detail: why }, 'crashed', true);
  }

  /** Record every trap in a ring of `capacity` records (a power of two). */
  async enableTrace(capacity = 65536): Promise<TraceRing> {
    const ring = TraceRing.create(capacity);
    await this.service().request({ t: 'trace', ring: ring.buffer });
    return ring;
  }

  async disableTrace(): Promise<void> {
    await this.svc?.request({ t: 'trace', ring: null });
  }

  /** Destroy every live domain and stop the service. */
  async close(): Promise<void> {
    await Promise.all(this.domains.filter((d) => d.alive).map((d) => this.destroy(d)));
    const svc = this.svc;
    this.svc = null;
    this.closing = true;
    if (svc) await svc.stop();
  }
}
