// Building a domain's memory before its vCPU starts: start_info (with the
// device table and command line), shared_info (every port masked, time,
// wall clock) and the boot module holding the app command lines.
import {
  ABI_VERSION,
  BOOT_MODULE_GPA,
  BOOT_MODULE_MAX,
  DEVICE_ENTRY,
  DEVICE_ENTRY_SIZE,
  EVTCHN_WORD_BITS,
  MAX_DEVICES,
  MAX_DOMAIN_NAME,
  MAX_GUEST_CMDLINE,
  maskWord,
  PAGE_SHIFT,
  PAGE_SIZE,
  reservedPages,
  SHARED_INFO,
  SHARED_INFO_GPA,
  START_INFO,
  START_INFO_GPA,
  START_INFO_MAGIC,
  VCPU_INFO,
  vcpuInfoWord,
  writeTimeInfo,
} from '@pvkit/hypercall';
import { GuestMemory, WASM_PAGE, type WasmMemory } from '@pvkit/virtio-ring';

export interface DeviceEntry {
  type: number;
  id: number;
  mmio: number;
  nrQueues: number;
  evtchn: number;
  doorbell: number;
  flags: number;
}

export interface GuestImageSpec {
  domid: number;
  name: string;
  bytes: number;
  nrVcpus: number;
  cmdline: string;
  /** App command lines, @names already resolved. */
  apps: readonly string[];
  devices: readonly DeviceEntry[];
  /** Host clock (ms) at system time 0. */
  timeBaseMs: number;
}

export interface GuestImage {
  memory: SharedArrayBuffer;
  /**
   * The same memory as a shared WebAssembly.Memory, when it is one (sizes
   * in whole 64 KiB pages): GuestMemory built from it reaches the ring
   * indexes through WebAssembly atomics, at a fraction of `Atomics`' cost
   * on Node 20 (BENCHMARKS.md, ring, fifth session).
   */
  wasmMemory: WasmMemory | null;
  /** Bytes at the bottom of memory the VMM keeps (memory_op's reserved range). */
  reservedBytes: number;
}

/** Why the spec can't be laid out, or null (checked before any allocation). */
export function guestImageError(spec: Omit<GuestImageSpec, 'timeBaseMs'>): string | null {
  const mod = new TextEncoder().encode(spec.apps.join('\n')).length;
  if (mod > BOOT_MODULE_MAX)
    return `apps: ${mod} bytes of command lines; the boot module holds at most ${BOOT_MODULE_MAX}`;
  if (spec.devices.length > MAX_DEVICES)
    return `${spec.devices.length} devices; at most ${MAX_DEVICES}`;
  if (reservedPages(mod) + 2 > spec.bytes >>> PAGE_SHIFT)
    return 'memory: too small for the boot pages';
  return null;
}

export function buildGuestImage(spec: GuestImageSpec): GuestImage {
  const err = guestImageError(spec);
  if (err) throw new RangeError(err);
  // In whole wasm pages the memory can be one (else, or when it cannot be
  // reserved, a SharedArrayBuffer): either way exactly spec.bytes.
  const whole = spec.bytes % WASM_PAGE === 0;
  const guest = whole ? GuestMemory.allocate(spec.bytes) : null;
  const memory = guest ? guest.buffer : new SharedArrayBuffer(spec.bytes);
  const dv = new DataView(memory);
  const u8 = new Uint8Array(memory);
  const words = new Int32Array(memory);
  const enc = new TextEncoder();
  const module = enc.encode(spec.apps.join('\n'));

  const si = (off: number, v: number) => dv.setUint32(START_INFO_GPA + off, v, true);
  si(START_INFO.magic, START_INFO_MAGIC);
  si(START_INFO.abi_version, ABI_VERSION);
  si(START_INFO.domid, spec.domid);
  si(START_INFO.nr_pages, spec.bytes >>> PAGE_SHIFT);
  si(START_INFO.shared_info, SHARED_INFO_GPA);
  si(START_INFO.nr_vcpus, spec.nrVcpus);
  si(START_INFO.mod_start, module.length > 0 ? BOOT_MODULE_GPA : 0);
  si(START_INFO.mod_len, module.length);
  u8.set(enc.encode(spec.name).subarray(0, MAX_DOMAIN_NAME - 1), START_INFO_GPA + START_INFO.name);
  const cmd = enc.encode(spec.cmdline).subarray(0, MAX_GUEST_CMDLINE - 1);
  u8.set(cmd, START_INFO_GPA + START_INFO.cmd_line);
  si(START_INFO.cmdline_len, cmd.length);
  si(START_INFO.nr_devices, spec.devices.length);
  spec.devices.forEach((d, i) => {
    const e = START_INFO.devices + i * DEVICE_ENTRY_SIZE;
    si(e + DEVICE_ENTRY.type, d.type);
    si(e + DEVICE_ENTRY.id, d.id);
    si(e + DEVICE_ENTRY.mmio, d.mmio);
    si(e + DEVICE_ENTRY.nr_queues, d.nrQueues);
    si(e + DEVICE_ENTRY.evtchn, d.evtchn);
    si(e + DEVICE_ENTRY.doorbell, d.doorbell);
    si(e + DEVICE_ENTRY.flags, d.flags);
  });
  u8.set(module, BOOT_MODULE_GPA);

  // shared_info: fresh ports start masked; vCPUs start with upcalls masked (Xen).
  for (let p = 0; p < EVTCHN_WORD_BITS * EVTCHN_WORD_BITS; p += EVTCHN_WORD_BITS)
    words[maskWord(p)] = -1;
  for (let v = 0; v < spec.nrVcpus; v++) {
    words[vcpuInfoWord(v, VCPU_INFO.evtchn_upcall_mask)] = 1;
    const time = vcpuInfoWord(v, VCPU_INFO.time) << 2;
    writeTimeInfo(memory, time, { tscTimestamp: spec.timeBaseMs, systemTime: 0 });
  }
  const wc = SHARED_INFO_GPA;
  const sec = Math.floor(spec.timeBaseMs / 1000);
  dv.setUint32(wc + SHARED_INFO.wc_sec, sec >>> 0, true);
  dv.setUint32(wc + SHARED_INFO.wc_sec_hi, Math.floor(sec / 2 ** 32), true);
  dv.setUint32(wc + SHARED_INFO.wc_nsec, Math.round((spec.timeBaseMs % 1000) * 1e6), true);
  dv.setUint32(wc + SHARED_INFO.wc_version, 2, true);

  return {
    memory,
    wasmMemory: guest?.memory ?? null,
    reservedBytes: reservedPages(module.length) * PAGE_SIZE,
  };
}
