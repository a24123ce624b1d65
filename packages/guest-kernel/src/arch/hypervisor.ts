// The arch layer (Mini-OS hypervisor.h): typed wrappers over the trap, and
// the views of guest memory the kernel works in. Everything "privileged" the
// kernel does goes through here.
import {
  CONSOLEIO,
  createHypercall,
  DOMID_SELF,
  EVTCHNOP,
  errnoName,
  HYPERVISOR,
  type Hypercall,
  MMIOOP,
  SCHEDOP,
  schedBlock,
  schedPoll,
  VCPU_INFO,
  VCPUOP,
  vcpuInfoWord,
  XENMEM,
  XENVER,
} from '@pvkit/hypercall';
import type { WasmMemory } from '@pvkit/virtio-ring';

/** What the worker entry hands the kernel (Xen passes start_info in a register). */
export interface BootParams {
  memory: SharedArrayBuffer;
  /** The same memory as a shared WebAssembly.Memory, when the VMM made it one. */
  wasmMemory?: WasmMemory;
  mailbox: SharedArrayBuffer;
  /** The hypervisor service doorbell. */
  serviceDoorbell: SharedArrayBuffer;
  /** Device queue doorbells (Int32 words), if the domain has devices. */
  deviceDoorbells?: SharedArrayBuffer;
  /** GPA of start_info. */
  startInfo: number;
}

export class HypercallFailed extends Error {
  declare readonly errno: number;
  constructor(what: string, r: number) {
    super(`${what} failed: -${errnoName(r)}`);
    this.errno = -r;
  }
}

/** Result of a call that must succeed, or an exception naming the call and errno. */
export function must(what: string, r: number): number {
  if (r < 0) throw new HypercallFailed(what, r);
  return r;
}

export class Hypervisor {
  declare readonly call: Hypercall;
  declare readonly words: Int32Array;
  declare readonly u8: Uint8Array;
  declare readonly dv: DataView;
  declare readonly memory: SharedArrayBuffer;
  /** What the virtqueues build their GuestMemory from: the wasm memory if there is one (cheaper ring indexes). */
  declare readonly ringMemory: SharedArrayBuffer | WasmMemory;
  declare readonly deviceDoorbells: Int32Array | null;

  constructor(boot: BootParams) {
    this.call = createHypercall(boot.mailbox, boot.serviceDoorbell);
    this.memory = boot.memory;
    this.ringMemory = boot.wasmMemory ?? boot.memory;
    this.words = new Int32Array(boot.memory);
    this.u8 = new Uint8Array(boot.memory);
    this.dv = new DataView(boot.memory);
    this.deviceDoorbells = boot.deviceDoorbells ? new Int32Array(boot.deviceDoorbells) : null;
  }

  // ---- sched_op / timer ----
  yield(): number {
    return this.call(HYPERVISOR.sched_op, SCHEDOP.yield);
  }
  /** Block until an event is delivered (see schedBlock). */
  block(): number {
    return schedBlock(this.call, this.words);
  }
  poll(ports: readonly number[], portsGpa: number, deadlineNs: number, nowNs: () => number) {
    return schedPoll(this.call, this.words, ports, portsGpa, deadlineNs, nowNs);
  }
  /** Ends the domain: the VMM never answers. */
  shutdown(reason: number, code = 0): never {
    const r = this.call(HYPERVISOR.sched_op, SCHEDOP.shutdown, reason, code);
    throw new HypercallFailed('sched_op(shutdown)', r < 0 ? r : -22);
  }
  setTimer(deadlineNs: number): number {
    return this.call(HYPERVISOR.set_timer_op, deadlineNs);
  }

  /** Events are noticed only at scheduling points: keep upcalls masked while running. */
  setUpcallMask(masked: boolean): void {
    Atomics.store(this.words, vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_mask), masked ? 1 : 0);
  }

  // ---- console_io ----
  consoleWrite(gpa: number, len: number): number {
    return this.call(HYPERVISOR.console_io, CONSOLEIO.write, len, gpa);
  }
  consoleRead(gpa: number, len: number): number {
    return this.call(HYPERVISOR.console_io, CONSOLEIO.read, len, gpa);
  }

  // ---- event_channel_op ----
  allocUnbound(remoteDom: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.alloc_unbound, remoteDom);
  }
  bindInterdomain(remoteDom: number, remotePort: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.bind_interdomain, remoteDom, remotePort);
  }
  bindVirq(virq: number, vcpu = 0): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.bind_virq, virq, vcpu);
  }
  send(port: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.send, port);
  }
  close(port: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.close, port);
  }
  unmask(port: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.unmask, port);
  }
  /** evtchn_status of (dom, port) written at gpa. */
  status(dom: number, port: number, gpa: number): number {
    return this.call(HYPERVISOR.event_channel_op, EVTCHNOP.status, dom, port, gpa);
  }
  selfStatus(port: number, gpa: number): number {
    return this.status(DOMID_SELF, port, gpa);
  }

  // ---- information ----
  version(): number {
    return this.call(HYPERVISOR.xen_version, XENVER.version);
  }
  features(): number {
    return this.call(HYPERVISOR.xen_version, XENVER.get_features, 0);
  }
  memoryMap(argGpa: number): number {
    return this.call(HYPERVISOR.memory_op, XENMEM.memory_map, argGpa);
  }
  currentReservation(): number {
    return this.call(HYPERVISOR.memory_op, XENMEM.current_reservation);
  }
  registerTimeArea(gpa: number, vcpu = 0): number {
    return this.call(HYPERVISOR.vcpu_op, VCPUOP.register_vcpu_time_memory_area, vcpu, gpa);
  }
  multicall(gpa: number, n: number): number {
    return this.call(HYPERVISOR.multicall, gpa, n);
  }

  // ---- devices ----
  mmioRead(handle: number, offset: number): number {
    return this.call(HYPERVISOR.pvkit_mmio_op, MMIOOP.read, handle, offset, 0, 4);
  }
  mmioWrite(handle: number, offset: number, value: number): number {
    return this.call(HYPERVISOR.pvkit_mmio_op, MMIOOP.write, handle, offset, value, 4);
  }
}
