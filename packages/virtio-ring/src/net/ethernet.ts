// Ethernet framing facts a virtio-net device and its driver share, and MAC
// address helpers. A virtio-net frame is an Ethernet frame without preamble
// and without FCS: destination MAC, source MAC, EtherType, payload.

export const ETH_ALEN = 6;
/** Destination + source + EtherType. */
export const ETH_HLEN = 14;
/** Minimum frame length without FCS; shorter frames are padded by real NICs. */
export const ETH_ZLEN = 60;
/** Default MTU: the largest payload of an untagged frame. */
export const ETH_DATA_LEN = 1500;
/** ETH_HLEN + ETH_DATA_LEN: the largest frame without an MTU feature. */
export const ETH_FRAME_LEN = 1514;

/** Offsets inside an Ethernet header. */
export const EthOffset = { DST: 0, SRC: 6, TYPE: 12 } as const;

/** ff:ff:ff:ff:ff:ff. Shared: never write into it. */
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Group bit (I/G) of the first octet: multicast, including broadcast. */
export function macIsMulticast(buf: Uint8Array, off = 0): boolean {
  return (buf[off] & 1) !== 0;
}

export function macIsBroadcast(buf: Uint8Array, off = 0): boolean {
  return (
    (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) === 0xff
  );
}

export function macIsZero(buf: Uint8Array, off = 0): boolean {
  return (
    (buf[off] | buf[off + 1] | buf[off + 2] | buf[off + 3] | buf[off + 4] | buf[off + 5]) === 0
  );
}

export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  return (
    a[aOff] === b[bOff] &&
    a[aOff + 1] === b[bOff + 1] &&
    a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] &&
    a[aOff + 4] === b[bOff + 4] &&
    a[aOff + 5] === b[bOff + 5]
  );
}

/**
 * The MAC at `buf[off..off+6)` as one integer (< 2^48, exact in a double):
 * a cheap Map key for MAC tables, with no string built per frame.
 */
export function macToKey(buf: Uint8Array, off = 0): number {
  const hi = (buf[off] << 8) | buf[off + 1];
  const lo =
    ((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

export function macFromKey(key: number, out: Uint8Array = new Uint8Array(6), off = 0): Uint8Array {
  const hi = Math.floor(key / 0x1_0000_0000);
  const lo = key >>> 0;
  out[off] = hi >>> 8;
  out[off + 1] = hi & 0xff;
  out[off + 2] = lo >>> 24;
  out[off + 3] = (lo >>> 16) & 0xff;
  out[off + 4] = (lo >>> 8) & 0xff;
  out[off + 5] = lo & 0xff;
  return out;
}

const HEX2 = /^[0-9a-f]{2}$/i;

/** Parse "52:54:00:12:34:56" (or with '-'); null if it is not a MAC. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => HEX2.test(p))) return null;
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

export function formatMac(buf: Uint8Array, off = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(buf[off + i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

function fnv1a(bytes: Uint8Array, basis: number): number {
  let h = basis >>> 0;
  for (const b of bytes) h = Math.imul(h ^ b, 0x0100_0193) >>> 0;
  return h;
}

/**
 * A stable MAC for a domain name, used when its config gives none: the same
 * name always gets the same MAC (so ARP caches of peers stay valid across
 * restarts), locally administered (bit 1 of the first octet set, so it cannot
 * collide with a vendor's address) and unicast (bit 0 clear). 46 bits come
 * from two FNV-1a hashes of the UTF-8 name.
 */
export function deriveMac(name: string): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  const a = fnv1a(bytes, 0x811c_9dc5);
  const b = fnv1a(bytes, 0x050c_5d1f);
  return new Uint8Array([
    ((b >>> 24) & 0xfc) | 0x02,
    (a >>> 24) & 0xff,
    (a >>> 16) & 0xff,
    (a >>> 8) & 0xff,
    a & 0xff,
    b & 0xff,
  ]);
}
