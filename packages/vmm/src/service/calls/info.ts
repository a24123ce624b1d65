// The calls that tell a guest about itself: xen_version, memory_op, vcpu_op.
import {
  ABI_VERSION,
  E820,
  E820_ENTRY,
  E820_ENTRY_SIZE,
  ERRNO,
  hostClockMs,
  LIMITS,
  MEMORY_MAP,
  MEMORY_MAP_SIZE,
  PVKIT_FEATURE,
  VCPU_TIME_INFO_SIZE,
  VCPUOP,
  writeTimeInfo,
  XEN_EXTRAVERSION_LEN,
  XENMEM,
  XENVER,
} from '@pvkit/hypercall';
import type { Handler } from '../context.ts';
import type { ServiceDomain } from '../domain.ts';

const EXTRAVERSION = new TextEncoder().encode('-pvkit');
const FEATURES = Object.values(PVKIT_FEATURE).reduce((x, y) => x | y, 0);

export const xenVersion: Handler = (_svc, d, _vcpu, a) => {
  switch (a[0]) {
    case XENVER.version:
      return ABI_VERSION;
    case XENVER.extraversion: {
      if (!d.inRange(a[1], XEN_EXTRAVERSION_LEN)) return -ERRNO.EFAULT;
      d.u8.fill(0, a[1], a[1] + XEN_EXTRAVERSION_LEN);
      d.u8.set(EXTRAVERSION, a[1]);
      return 0;
    }
    case XENVER.get_features:
      return a[1] === 0 ? FEATURES : -ERRNO.EINVAL;
    default:
      return -ERRNO.EINVAL;
  }
};

/** A u64 field (two u32, lo first) of a guest struct; pvkit memories stay below 2^32. */
function setU64(dv: DataView, at: number, x: number): void {
  dv.setUint32(at, x >>> 0, true);
  dv.setUint32(at + 4, Math.floor(x / 2 ** 32), true);
}

/** The memory map: the VMM's reserved pages, then RAM. */
function memoryMap(d: ServiceDomain): [addr: number, size: number, type: number][] {
  return [
    [0, d.reservedBytes, E820.reserved],
    [d.reservedBytes, d.bytes - d.reservedBytes, E820.ram],
  ];
}

function writeMemoryMap(d: ServiceDomain, gpa: number): number {
  if (!d.inRange(gpa, MEMORY_MAP_SIZE)) return -ERRNO.EFAULT;
  const room = d.dv.getUint32(gpa + MEMORY_MAP.nr_entries, true);
  const buf = d.dv.getUint32(gpa + MEMORY_MAP.buffer, true);
  const bufHi = d.dv.getUint32(gpa + MEMORY_MAP.buffer + 4, true);
  if (room > LIMITS.memory_map_entries) return -ERRNO.EINVAL;
  const map = memoryMap(d);
  d.dv.setUint32(gpa + MEMORY_MAP.nr_entries, map.length, true);
  if (room < map.length) return -ERRNO.ENOSPC;
  if (bufHi !== 0 || !d.inRange(buf, map.length * E820_ENTRY_SIZE)) return -ERRNO.EFAULT;
  map.forEach(([addr, size, type], i) => {
    const e = buf + i * E820_ENTRY_SIZE;
    setU64(d.dv, e + E820_ENTRY.addr, addr);
    setU64(d.dv, e + E820_ENTRY.size, size);
    d.dv.setUint32(e + E820_ENTRY.type, type, true);
  });
  return 0;
}

export const memoryOp: Handler = (_svc, d, _vcpu, a) => {
  switch (a[0]) {
    case XENMEM.current_reservation:
    case XENMEM.maximum_reservation:
      return d.nrPages;
    case XENMEM.memory_map:
      return writeMemoryMap(d, a[1]);
    default:
      return -ERRNO.EINVAL;
  }
};

export const vcpuOp: Handler = (svc, d, _vcpu, a) => {
  const [cmd, vcpu, gpa] = a;
  if (cmd !== VCPUOP.is_up && cmd !== VCPUOP.register_vcpu_time_memory_area) return -ERRNO.EINVAL;
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.nrVcpus) return -ERRNO.ENOENT;
  if (cmd === VCPUOP.is_up) return 1;
  if (gpa % 8 !== 0) return -ERRNO.EINVAL;
  if (!d.inRange(gpa, VCPU_TIME_INFO_SIZE)) return -ERRNO.EFAULT;
  // pvkit's clock never drifts from the host's: one write keeps the area current.
  const now = hostClockMs();
  writeTimeInfo(d.memory, gpa, {
    tscTimestamp: now,
    systemTime: d.systemTimeNs(svc.timeBaseMs, now),
  });
  return 0;
};
