// Reading start_info: the first thing the kernel looks at. Magic and ABI
// major version must match before any other field is believed.
import {
  ABI_VERSION_MAJOR,
  DEVICE_ENTRY,
  DEVICE_ENTRY_SIZE,
  MAX_DEVICES,
  MAX_DOMAIN_NAME,
  MAX_GUEST_CMDLINE,
  PAGE_SIZE,
  START_INFO,
  START_INFO_MAGIC,
} from '@pvkit/hypercall';

export interface DeviceInfo {
  type: number;
  id: number;
  mmio: number;
  nrQueues: number;
  evtchn: number;
  doorbell: number;
  flags: number;
  /** GPA of the entry's config_seq word (the VMM bumps it when config space changed). */
  configSeqAt: number;
}

export interface StartInfo {
  abiVersion: number;
  domid: number;
  nrPages: number;
  sharedInfo: number;
  nrVcpus: number;
  modStart: number;
  modLen: number;
  name: string;
  cmdline: string;
  devices: DeviceInfo[];
}

const hex = (x: number) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;

function cString(u8: Uint8Array, at: number, max: number): string {
  const bytes = u8.slice(at, at + max);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** start_info at `gpa`, or the reason it can't be trusted. */
export function readStartInfo(dv: DataView, gpa: number): StartInfo | string {
  if (gpa < 0 || gpa + PAGE_SIZE > dv.byteLength)
    return `start_info GPA ${hex(gpa)} is outside memory`;
  const u32 = (off: number) => dv.getUint32(gpa + off, true);
  const magic = u32(START_INFO.magic);
  if (magic !== START_INFO_MAGIC)
    return `start_info magic ${hex(magic)} is not ${hex(START_INFO_MAGIC)} ("PVK1"): not booted by a pvkit VMM`;
  const abi = u32(START_INFO.abi_version);
  if (abi >>> 16 !== ABI_VERSION_MAJOR)
    return `start_info ABI version ${abi >>> 16}.${abi & 0xffff} does not match this kernel's ${ABI_VERSION_MAJOR}.x`;
  const u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  const nrDevices = Math.min(u32(START_INFO.nr_devices), MAX_DEVICES);
  const devices: DeviceInfo[] = [];
  for (let i = 0; i < nrDevices; i++) {
    const e = START_INFO.devices + i * DEVICE_ENTRY_SIZE;
    devices.push({
      type: u32(e + DEVICE_ENTRY.type),
      id: u32(e + DEVICE_ENTRY.id),
      mmio: u32(e + DEVICE_ENTRY.mmio),
      nrQueues: u32(e + DEVICE_ENTRY.nr_queues),
      evtchn: u32(e + DEVICE_ENTRY.evtchn),
      doorbell: u32(e + DEVICE_ENTRY.doorbell),
      flags: u32(e + DEVICE_ENTRY.flags),
      configSeqAt: gpa + e + DEVICE_ENTRY.config_seq,
    });
  }
  return {
    abiVersion: abi,
    domid: u32(START_INFO.domid),
    nrPages: u32(START_INFO.nr_pages),
    sharedInfo: u32(START_INFO.shared_info),
    nrVcpus: u32(START_INFO.nr_vcpus),
    modStart: u32(START_INFO.mod_start),
    modLen: u32(START_INFO.mod_len),
    name: cString(u8, gpa + START_INFO.name, MAX_DOMAIN_NAME),
    cmdline: cString(u8, gpa + START_INFO.cmd_line, MAX_GUEST_CMDLINE),
    devices,
  };
}

/** The boot module: app command lines, one per line. */
export function readBootModule(u8: Uint8Array, info: StartInfo): string[] {
  if (info.modLen === 0) return [];
  const text = new TextDecoder().decode(u8.slice(info.modStart, info.modStart + info.modLen));
  return text.split('\n').filter((l) => l.trim().length > 0);
}
