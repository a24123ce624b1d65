// Every number of the pvkit hypercall ABI that is not a memory offset:
// call numbers, errno values, sub-ops, VIRQs, shutdown reasons, device types.
// Xen's names and numbers where they fit (xen/include/public/*.h); the few
// pvkit-only numbers sit where Xen leaves room and say so.

/** ABI version: major in the high 16 bits, minor in the low 16 (start_info.abi_version). */
export const ABI_VERSION_MAJOR = 1;
export const ABI_VERSION_MINOR = 0;
export const ABI_VERSION = (ABI_VERSION_MAJOR << 16) | ABI_VERSION_MINOR;

/** Hypercall numbers (Xen's `__HYPERVISOR_*`). */
export const HYPERVISOR = {
  memory_op: 12,
  multicall: 13,
  set_timer_op: 15,
  xen_version: 17,
  console_io: 18,
  vcpu_op: 24,
  sched_op: 29,
  event_channel_op: 32,
  /** pvkit: virtio-mmio register access by trap. Xen's arch range starts at 48; 56 is past it. */
  pvkit_mmio_op: 56,
} as const;

/** Call numbers are small: the VMM's dispatch and counter tables have this many slots. */
export const NR_HYPERCALLS = 64;

/** Errno values (Linux numbering, as Xen uses). A call fails with the negative value. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
} as const;

/** sched_op sub-ops (Xen `SCHEDOP_*`; 4 and 5 are Xen's remote_shutdown and shutdown_code, not in pvkit). */
export const SCHEDOP = { yield: 0, block: 1, shutdown: 2, poll: 3, watchdog: 6 } as const;

/** sched_op(poll) returns this when nothing is pending yet: the vCPU now waits (see README). */
export const SCHEDOP_POLL_WAIT = 1;

/** Shutdown reasons (Xen `SHUTDOWN_*`); `watchdog`: a sched_op watchdog expired. */
export const SHUTDOWN = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4 } as const;

/** console_io sub-ops (Xen `CONSOLEIO_*`). */
export const CONSOLEIO = { write: 0, read: 1 } as const;

/** event_channel_op sub-ops (Xen `EVTCHNOP_*`). */
export const EVTCHNOP = {
  bind_interdomain: 0,
  bind_virq: 1,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  unmask: 9,
} as const;

/** evtchn_status.status values (Xen `EVTCHNSTAT_*`). */
export const EVTCHNSTAT = {
  closed: 0,
  unbound: 1,
  interdomain: 2,
  pirq: 3,
  virq: 4,
  ipi: 5,
  /** pvkit: bound to a device queue at domain creation; the backend raises it. */
  device: 6,
} as const;

/** Virtual IRQs (Xen `VIRQ_*`); `shutdown_request` is pvkit's, in Xen's arch slot 16. */
export const VIRQ = { timer: 0, debug: 1, console: 2, shutdown_request: 16 } as const;
export const NR_VIRQS = 24;

/** xen_version sub-ops (Xen `XENVER_*`). */
export const XENVER = { version: 0, extraversion: 1, get_features: 6 } as const;

/** Feature bits reported by xen_version(get_features) in submap 0. */
export const PVKIT_FEATURE = {
  multicall: 1 << 0,
  sched_poll: 1 << 1,
  mmio_op: 1 << 2,
  evtchn_2level: 1 << 3,
  /** sched_op(watchdog) exists. */
  watchdog: 1 << 4,
} as const;

/** memory_op sub-ops (Xen `XENMEM_*`). */
export const XENMEM = { current_reservation: 3, maximum_reservation: 4, memory_map: 10 } as const;

/** Memory map entry types (e820 numbering, as Xen's memory_map uses). */
export const E820 = { ram: 1, reserved: 2 } as const;

/** vcpu_op sub-ops (Xen `VCPUOP_*`). */
export const VCPUOP = { is_up: 3, register_vcpu_time_memory_area: 13 } as const;

/** pvkit_mmio_op sub-ops: read or write one virtio-mmio register of a device. */
export const MMIOOP = { read: 0, write: 1 } as const;

/** Device types in the start_info device table: the virtio device IDs (VIRTIO 1.2 §5). */
export const DEVICE_TYPE = { net: 1, blk: 2, console: 3 } as const;

/** Device table flags. */
export const DEVICE_FLAG = {
  /** Kicks go through a QueueNotify register write (a trap) instead of the doorbell. */
  notify_by_hypercall: 1 << 0,
} as const;

/** Xen's `DOMID_SELF`: "the calling domain" wherever a domid is an argument. */
export const DOMID_SELF = 0x7ff0;
/** Highest domid a domain can have (Xen's `DOMID_FIRST_RESERVED` - 1). */
export const DOMID_MAX = 0x7fef;

/** Limits the VMM enforces (a call beyond them fails with -EINVAL). */
export const LIMITS = {
  /** Entries in one multicall. */
  multicall_entries: 256,
  /** Bytes in one console_io write or read. */
  console_bytes: 65536,
  /** Ports in one sched_op(poll). */
  poll_ports: 128,
  /** Entries one memory_map call may return. */
  memory_map_entries: 64,
  /** sched_op(watchdog) timers per domain (Xen's NR_DOMAIN_WATCHDOG_TIMERS). */
  watchdogs: 2,
} as const;

/** "EINVAL" for -22 or 22; "E?<n>" for numbers pvkit does not use. */
export function errnoName(e: number): string {
  const n = Math.abs(e);
  for (const [name, v] of Object.entries(ERRNO)) if (v === n) return name;
  return `E?${n}`;
}
