// IPv4 addresses and interface configuration. Addresses are unsigned 32-bit
// numbers in host order (10.0.0.1 = 0x0a000001): cheap to compare, to mask
// and to use as Map keys on the per-packet path.

export const IPV4_ANY = 0;
export const IPV4_BROADCAST = 0xffff_ffff;

/** Parse dotted-quad "A.B.C.D"; null when it is not one. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let addr = 0;
  for (const part of parts) {
    // Decimal only, no leading zeros (which some parsers read as octal).
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    addr = addr * 256 + octet;
  }
  return addr;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Netmask of a prefix length: 24 → 0xffffff00. */
export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
}

export function isMulticastIpv4(addr: number): boolean {
  return addr >>> 28 === 0xe;
}

export interface IpConfig {
  addr: number;
  prefix: number;
  mask: number;
  network: number;
  /** Directed broadcast of the subnet (for prefixes below 31). */
  broadcast: number;
}

/** The error text says what is wrong, for a domain config message. */
export type IpConfigResult = { ok: true; config: IpConfig } | { ok: false; error: string };

/** Parse "A.B.C.D/prefix" (prefix 0..32; a bare address means /32). */
export function parseIpConfig(text: string): IpConfigResult {
  const [addrText, prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0) return { ok: false, error: `"${text}": more than one "/"` };
  const addr = parseIpv4(addrText);
  if (addr === null) return { ok: false, error: `"${addrText}" is not an IPv4 address` };
  let prefix = 32;
  if (prefixText !== undefined) {
    if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
      return { ok: false, error: `"/${prefixText}" is not a prefix length 0..32` };
    }
    prefix = Number(prefixText);
  }
  if (addr === IPV4_ANY || addr === IPV4_BROADCAST || isMulticastIpv4(addr)) {
    return { ok: false, error: `${addrText} cannot be an interface address` };
  }
  const mask = prefixToMask(prefix);
  const network = (addr & mask) >>> 0;
  // /31 (RFC 3021) and /32 have no directed broadcast address.
  const broadcast = prefix >= 31 ? IPV4_BROADCAST : (network | ~mask) >>> 0;
  if (prefix < 31 && (addr === network || addr === broadcast)) {
    return { ok: false, error: `${addrText} is the network or broadcast address of /${prefix}` };
  }
  return { ok: true, config: { addr, prefix, mask, network, broadcast } };
}

/** parseIpConfig that throws a RangeError: for callers whose input is trusted. */
export function ipConfig(text: string): IpConfig {
  const r = parseIpConfig(text);
  if (!r.ok) throw new RangeError(r.error);
  return r.config;
}
