// What pvkit adds to a virtio-net device's config space, and the default
// MAC of a NIC: both are agreed between the toolstack (which writes them)
// and the guest kernel (which reads them), so they live here once.
//
// The guest's IPv4 address comes from the domain config ("ip":
// "10.0.0.2/24"), as Linux's `ip=` kernel parameter would give it. pvkit
// puts it in a vendor block of config space, well past the standard fields
// (which end at 12 bytes for the features pvkit offers; the optional ones
// pvkit never offers end before 64): a driver that knows nothing of it reads
// a plain virtio-net config, and one that does checks the magic first.
//
//   magic u32 @0 ("PVNI")  ·  ipv4 u32 @4 (host order: 10.0.0.2 = 0x0a000002)
//   prefix u8 @8 (0..32)   ·  flags u8 @9 (bit 0: an address is given)  ·  u16 reserved @10

import { deriveMac } from './ethernet.ts';

/** Where the pvkit block starts in device config space. */
export const PVKIT_NET_CONFIG_OFFSET = 64;
export const PVKIT_NET_CONFIG_SIZE = 12;
/** Config space bytes of a pvkit virtio-net device: standard fields, padding, the pvkit block. */
export const PVKIT_NET_CONFIG_TOTAL = PVKIT_NET_CONFIG_OFFSET + PVKIT_NET_CONFIG_SIZE;
/** "PVNI", little-endian. */
export const PVKIT_NET_CONFIG_MAGIC = 0x494e5650;

export const PvkitNetConfigOffset = { MAGIC: 0, IPV4: 4, PREFIX: 8, FLAGS: 9 } as const;
export const PvkitNetConfigFlag = { HAS_IPV4: 1 } as const;

export interface PvkitNetConfig {
  /** The guest's address (host order) and prefix length, or null when none is configured. */
  ipv4: { addr: number; prefix: number } | null;
}

/** Write the pvkit block into a config space of PVKIT_NET_CONFIG_TOTAL bytes. */
export function encodePvkitNetConfig(cfg: PvkitNetConfig, out: Uint8Array): void {
  if (out.length < PVKIT_NET_CONFIG_TOTAL)
    throw new RangeError(`config space of ${out.length} bytes has no room for the pvkit block`);
  const dv = new DataView(out.buffer, out.byteOffset + PVKIT_NET_CONFIG_OFFSET);
  dv.setUint32(PvkitNetConfigOffset.MAGIC, PVKIT_NET_CONFIG_MAGIC, true);
  const ip = cfg.ipv4;
  if (ip !== null) {
    if (!(Number.isInteger(ip.prefix) && ip.prefix >= 0 && ip.prefix <= 32))
      throw new RangeError(`prefix ${ip.prefix} is not 0..32`);
    dv.setUint32(PvkitNetConfigOffset.IPV4, ip.addr >>> 0, true);
    dv.setUint8(PvkitNetConfigOffset.PREFIX, ip.prefix);
  }
  dv.setUint8(PvkitNetConfigOffset.FLAGS, ip !== null ? PvkitNetConfigFlag.HAS_IPV4 : 0);
}

/** Read the pvkit block of a config space; null when it is absent (not a pvkit device). */
export function decodePvkitNetConfig(config: Uint8Array): PvkitNetConfig | null {
  if (config.length < PVKIT_NET_CONFIG_TOTAL) return null;
  const dv = new DataView(config.buffer, config.byteOffset + PVKIT_NET_CONFIG_OFFSET);
  if (dv.getUint32(PvkitNetConfigOffset.MAGIC, true) !== PVKIT_NET_CONFIG_MAGIC) return null;
  const has = (dv.getUint8(PvkitNetConfigOffset.FLAGS) & PvkitNetConfigFlag.HAS_IPV4) !== 0;
  const prefix = dv.getUint8(PvkitNetConfigOffset.PREFIX);
  if (!has || prefix > 32) return { ipv4: null };
  return { ipv4: { addr: dv.getUint32(PvkitNetConfigOffset.IPV4, true), prefix } };
}

/**
 * The MAC of NIC `index` of a domain when its config gives none: eth0 gets
 * deriveMac(name) (what a kernel without F_MAC derives too), ethN gets
 * deriveMac("name/ethN"). Stable across restarts, distinct per NIC.
 */
export function defaultNicMac(domainName: string, index: number): Uint8Array {
  return deriveMac(index === 0 ? domainName : `${domainName}/eth${index}`);
}
