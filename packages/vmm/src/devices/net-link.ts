// A NIC's link, as a cable pulled out and plugged back in (Vmm.setLink):
// the VIRTIO_NET_S_LINK_UP bit of the device's config `status` changes in
// the control block (DeviceControl.setConfig), which the register model
// turns into a new ConfigGeneration and the config interrupt bit, and which
// the switch watches to drop frames for a port whose link is down. The
// driver is told as the device table says: the entry's config_seq moves,
// then queue 0's event is raised; it re-reads config space by trap.
import {
  DEVICE_ENTRY,
  DEVICE_ENTRY_SIZE,
  DEVICE_TYPE,
  raiseEvent,
  START_INFO,
  START_INFO_GPA,
} from '@pvkit/hypercall';
import { type DeviceControl, NetConfigOffset, VirtioNetStatus } from '@pvkit/virtio-ring';
import type { DeviceEntry } from '../boot/guest-memory.ts';

/** What setNicLink needs of a domain: its memory and its device table, with a control block per entry. */
export interface LinkTarget {
  readonly name: string;
  readonly memory: SharedArrayBuffer;
  readonly deviceEntries: readonly DeviceEntry[];
  readonly deviceControls: readonly DeviceControl[];
}

/** Set NIC `nic` (eth<nic>) of `dom` up or down. Returns false when it already was. */
export function setNicLink(dom: LinkTarget, nic: number, up: boolean): boolean {
  const i = dom.deviceEntries.findIndex((e) => e.type === DEVICE_TYPE.net && e.id === nic);
  const control = dom.deviceControls[i];
  if (i < 0 || control === undefined) {
    const n = dom.deviceEntries.filter((e) => e.type === DEVICE_TYPE.net).length;
    throw new RangeError(`domain ${dom.name} has no NIC ${nic} (it has ${n})`);
  }
  const config = control.config();
  const view = new DataView(config.buffer);
  const status = view.getUint16(NetConfigOffset.STATUS, true);
  const next = up ? status | VirtioNetStatus.LINK_UP : status & ~VirtioNetStatus.LINK_UP;
  if (next === status) return false;
  view.setUint16(NetConfigOffset.STATUS, next, true);
  control.setConfig(config);
  const words = new Int32Array(dom.memory);
  const seqAt =
    START_INFO_GPA + START_INFO.devices + i * DEVICE_ENTRY_SIZE + DEVICE_ENTRY.config_seq;
  Atomics.add(words, seqAt >>> 2, 1);
  raiseEvent(words, dom.deviceEntries[i].evtchn);
  return true;
}
