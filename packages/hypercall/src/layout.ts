// Every memory offset of the pvkit ABI: the guest-physical memory map, the
// start_info and shared_info pages, the mailbox, multicall entries and the
// small structs that calls read or write in guest memory. Byte offsets,
// little-endian. Fields that a thread waits on or updates with Atomics are
// 32-bit words on a 4-byte boundary (Atomics.wait works only on Int32Array).
//
// pvkit is not binary compatible with Xen: names follow Xen, sizes suit JS
// (u64 fields that JS reads as numbers are stored as two u32 words, lo first;
// time is f64).

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

// ---- Guest-physical memory map --------------------------------------------

/** Page 0 stays unused so that GPA 0 is never a valid buffer by accident. */
export const NULL_PAGE_GPA = 0x0000;
/** start_info: what the VMM tells the kernel at boot (Xen passes it in a register). */
export const START_INFO_GPA = 0x1000;
/** shared_info: vcpu_info[], event channel bitmaps, wall clock. */
export const SHARED_INFO_GPA = 0x2000;
/** Boot module (Xen's mod_start): the domain's app command lines, one per line, UTF-8. */
export const BOOT_MODULE_GPA = 0x3000;
/** Room for the boot module: 4 pages. */
export const BOOT_MODULE_MAX = 4 * PAGE_SIZE;
/** Smallest guest memory the VMM accepts (reserved pages plus room for a kernel). */
export const MIN_GUEST_MEMORY = 256 * 1024;

// ---- start_info (at START_INFO_GPA) ----------------------------------------

/** "PVK1" in memory order. */
export const START_INFO_MAGIC = 0x314b5650;
export const MAX_GUEST_CMDLINE = 1024;
export const MAX_DOMAIN_NAME = 64;
export const MAX_DEVICES = 16;

export const START_INFO = {
  magic: 0,
  abi_version: 4,
  domid: 8,
  nr_pages: 12,
  /** GPA of shared_info. */
  shared_info: 16,
  flags: 20,
  nr_vcpus: 24,
  /** 0: the console is the console_io hypercall only. */
  console_evtchn: 28,
  mod_start: 32,
  mod_len: 36,
  nr_devices: 40,
  cmdline_len: 44,
  /** Domain name, UTF-8, NUL-padded, MAX_DOMAIN_NAME bytes. */
  name: 64,
  /** Kernel command line, UTF-8, NUL-padded, MAX_GUEST_CMDLINE bytes. */
  cmd_line: 128,
  /** MAX_DEVICES entries of DEVICE_ENTRY_SIZE bytes. */
  devices: 1152,
} as const;

/** One entry of the start_info device table (all u32). */
export const DEVICE_ENTRY = {
  /** DEVICE_TYPE.* (the virtio device ID). */
  type: 0,
  /** Index among devices of this type (vda = 0, vdb = 1, ...). */
  id: 4,
  /** Handle to pass to pvkit_mmio_op for this device's registers. */
  mmio: 8,
  nr_queues: 12,
  /** Event channel port of queue 0; queue i uses evtchn + i. */
  evtchn: 16,
  /**
   * Doorbell number of queue 0 in the vCPU's device doorbell buffer; queue i
   * uses doorbell + i. Doorbell k is a @pvkit/virtio-ring Doorbell at Int32
   * word k * DOORBELL_STRIDE (its ring count, then its sleeper count).
   */
  doorbell: 20,
  /** DEVICE_FLAG.* */
  flags: 24,
  /**
   * Bumped by the VMM each time the device's config space changed (then it
   * raises queue 0's event): a driver compares it with the value it last saw
   * (a load, no trap) and re-reads config space when it moved.
   */
  config_seq: 28,
} as const;
export const DEVICE_ENTRY_SIZE = 32;

// ---- shared_info (at SHARED_INFO_GPA) -------------------------------------

export const MAX_VIRT_CPUS = 4;
/** 2-level event channels with 32-bit words: 32 selector bits x 32 ports. */
export const EVTCHN_WORD_BITS = 32;
export const NR_EVENT_CHANNELS = EVTCHN_WORD_BITS * EVTCHN_WORD_BITS;

/** vcpu_info, one per vCPU at SHARED_INFO.vcpu_info + vcpu * VCPU_INFO_SIZE. All i32 but time. */
export const VCPU_INFO = {
  evtchn_upcall_pending: 0,
  evtchn_upcall_mask: 4,
  /** One bit per word of evtchn_pending. */
  evtchn_pending_sel: 8,
  /** pvkit: the word a blocked vCPU sleeps on (Atomics.wait); a raise adds 1 and notifies. */
  wake: 12,
  /** pvkit: non-zero while the vCPU waits in sched_op(poll); any newly pending port wakes it. */
  polling: 16,
  /** vcpu_time_info, VCPU_TIME_INFO_SIZE bytes. */
  time: 24,
} as const;
export const VCPU_INFO_SIZE = 64;

/**
 * vcpu_time_info. The guest's system time in ns is
 * `system_time + (hostClockMs() - tsc_timestamp) * 1e6`, read under the
 * version protocol (odd version: update in progress, retry).
 */
export const VCPU_TIME_INFO = {
  version: 0,
  /** f64: the host clock (hostClockMs) when system_time was sampled. */
  tsc_timestamp: 8,
  /** f64: the domain's system time in ns at tsc_timestamp. */
  system_time: 16,
} as const;
export const VCPU_TIME_INFO_SIZE = 24;

export const SHARED_INFO = {
  vcpu_info: 0,
  /** NR_EVENT_CHANNELS bits: 32 i32 words. */
  evtchn_pending: 256,
  evtchn_mask: 384,
  /** Wall clock at system time 0, versioned like vcpu_time_info. All u32. */
  wc_version: 512,
  wc_sec: 516,
  wc_nsec: 520,
  wc_sec_hi: 524,
} as const;

// ---- The per-vCPU mailbox (its own small SharedArrayBuffer) ----------------

/**
 * Word indices (Int32) of the mailbox a vCPU traps through. A small
 * SharedArrayBuffer is only 16-byte aligned (malloc), so its cache lines fall
 * anywhere: what crosses threads per trap (state, nr, result) is one 16-byte
 * block, which no 64-byte line can split, 64 bytes in, so it never shares a
 * line with a neighbouring allocation. The arguments follow (the stub writes
 * only the words that changed, so a repeated call moves no argument line);
 * each sleep flag sits 64 bytes past everything hot, on a line of its own.
 */
export const MAILBOX = {
  /** MAILBOX_STATE.*: the vCPU stores `request`, the service `done`. */
  state: 16,
  nr: 17,
  /** i64 result, two words (lo, hi). */
  result: 18,
  /** 6 args, each two words (lo, hi): u64 little-endian. */
  args: 20,
  /** The vCPU sets it before Atomics.wait on `state`; the service notifies only then. */
  guest_sleeping: 48,
  /** The service sets it while it sleeps on its doorbell; the vCPU then rings. */
  svc_sleeping: 64,
} as const;
export const MAILBOX_BYTES = 320;
export const MAILBOX_STATE = { idle: 0, request: 1, done: 2 } as const;
export const MAX_HYPERCALL_ARGS = 6;

// ---- Structs that calls read or write in guest memory ----------------------

/** multicall_entry: op u64, result i64, args[6] u64. */
export const MULTICALL_ENTRY = { op: 0, result: 8, args: 16 } as const;
export const MULTICALL_ENTRY_SIZE = 64;
/** A multicall list starts on this boundary (-EINVAL otherwise). */
export const MULTICALL_ALIGN = 8;

/** memory_op(memory_map) argument: nr_entries u32 (in: room, out: used), buffer u64. */
export const MEMORY_MAP = { nr_entries: 0, buffer: 8 } as const;
export const MEMORY_MAP_SIZE = 16;
/** One memory map entry (e820): addr u64, size u64, type u32. */
export const E820_ENTRY = { addr: 0, size: 8, type: 16 } as const;
export const E820_ENTRY_SIZE = 24;

/** event_channel_op(status) output: all u32. */
export const EVTCHN_STATUS = {
  status: 0,
  vcpu: 4,
  /** unbound: remote domid; interdomain: remote domid; virq: the VIRQ. */
  a: 8,
  /** interdomain: remote port. */
  b: 12,
} as const;
export const EVTCHN_STATUS_SIZE = 16;

/** xen_version(extraversion) writes this many bytes (NUL-padded). */
export const XEN_EXTRAVERSION_LEN = 16;

/** sched_op(poll) reads nr_ports u32 port numbers from its ports GPA. */
export const POLL_PORT_SIZE = 4;

// ---- Helpers: the layout as Int32 word indices into guest memory -----------

/** Word index (Int32Array over guest memory) of a field of vcpu_info[vcpu]. */
export function vcpuInfoWord(vcpu: number, field: number): number {
  return (SHARED_INFO_GPA + SHARED_INFO.vcpu_info + vcpu * VCPU_INFO_SIZE + field) >>> 2;
}

/** Word index of the evtchn_pending word that holds `port`. */
export function pendingWord(port: number): number {
  return ((SHARED_INFO_GPA + SHARED_INFO.evtchn_pending) >>> 2) + (port >>> 5);
}

/** Word index of the evtchn_mask word that holds `port`. */
export function maskWord(port: number): number {
  return ((SHARED_INFO_GPA + SHARED_INFO.evtchn_mask) >>> 2) + (port >>> 5);
}

/** Pages the VMM reserves at the bottom of guest memory, for a boot module of modLen bytes. */
export function reservedPages(modLen: number): number {
  return (BOOT_MODULE_GPA >>> PAGE_SHIFT) + Math.ceil(modLen / PAGE_SIZE);
}
