// Raw Ethernet frames as a QEMU guest (or a test) puts them on a dgram or
// stream wire: builders for ARP and IPv4 (ICMP echo, UDP) frames, parsers,
// and checksum checks. Written against the RFCs with DataView, independent
// of the guest stack under test.
import { internetChecksum } from '../../packages/virtio-ring/src/index.ts';

export const HOST_MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const BCAST = new Uint8Array(6).fill(0xff);

export function ip(text: string): number {
  return text.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function eth(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array, pad = true) {
  const len = Math.max(14 + payload.length, pad ? 60 : 0);
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** An ARP request (op 1) or reply (op 2), padded to 60 bytes unless `pad` is false. */
export function arpFrame(o: {
  op: 1 | 2;
  sha: Uint8Array;
  spa: number;
  tha?: Uint8Array;
  tpa: number;
  dst?: Uint8Array;
  pad?: boolean;
}): Uint8Array {
  const a = new Uint8Array(28);
  const v = new DataView(a.buffer);
  v.setUint16(0, 1);
  v.setUint16(2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  v.setUint16(6, o.op);
  a.set(o.sha, 8);
  v.setUint32(14, o.spa);
  a.set(o.tha ?? new Uint8Array(6), 18);
  v.setUint32(24, o.tpa);
  return eth(o.dst ?? BCAST, o.sha, 0x0806, a, o.pad ?? true);
}

export interface Arp {
  op: number;
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export function parseArp(f: Uint8Array): Arp | null {
  if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06) return null;
  const v = new DataView(f.buffer, f.byteOffset + 14);
  return {
    op: v.getUint16(6),
    sha: f.slice(22, 28),
    spa: v.getUint32(14),
    tha: f.slice(32, 38),
    tpa: v.getUint32(24),
  };
}

/** An IPv4 frame carrying `l4` (protocol `proto`), header checksum filled in. */
export function ipv4Frame(
  dstMac: Uint8Array,
  src: number,
  dst: number,
  proto: number,
  l4: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(20 + l4.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, 0x1234);
  v.setUint16(6, 0x4000);
  p[8] = 64;
  p[9] = proto;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, internetChecksum(p, 0, 20));
  p.set(l4, 20);
  return eth(dstMac, HOST_MAC, 0x0800, p);
}

/** An ICMP echo request with a checksum. */
export function icmpEcho(id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  const v = new DataView(m.buffer);
  m[0] = 8;
  v.setUint16(4, id);
  v.setUint16(6, seq);
  m.set(data, 8);
  v.setUint16(2, internetChecksum(m));
  return m;
}

export interface Ipv4 {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  /** The IP header checksum verifies. */
  headerOk: boolean;
  /** The L4 bytes (total length honoured, padding cut). */
  l4: Uint8Array;
}

export function parseIpv4(f: Uint8Array): Ipv4 | null {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return null;
  const v = new DataView(f.buffer, f.byteOffset + 14);
  const ihl = (f[14] & 0x0f) * 4;
  const total = v.getUint16(2);
  return {
    src: v.getUint32(12),
    dst: v.getUint32(16),
    proto: f[23],
    ttl: f[22],
    headerOk: internetChecksum(f, 14, 14 + ihl) === 0,
    l4: f.slice(14 + ihl, 14 + total),
  };
}

/** The UDP checksum of a datagram verifies (and is present: not 0). */
export function udpChecksumOk(p: Ipv4): boolean {
  const u = p.l4;
  if (u.length < 8 || (u[6] === 0 && u[7] === 0)) return false;
  const pseudo = new Uint8Array(12 + u.length);
  const v = new DataView(pseudo.buffer);
  v.setUint32(0, p.src);
  v.setUint32(4, p.dst);
  pseudo[9] = 17;
  v.setUint16(10, u.length);
  pseudo.set(u, 12);
  return internetChecksum(pseudo) === 0;
}

/** The same frame sent back: MACs, IPs and UDP ports swapped (checksums stay valid). */
export function udpEchoFrame(f: Uint8Array): Uint8Array {
  const out = f.slice();
  out.set(f.subarray(6, 12), 0);
  out.set(f.subarray(0, 6), 6);
  const ihl = (f[14] & 0x0f) * 4;
  out.set(f.subarray(30, 34), 26);
  out.set(f.subarray(26, 30), 30);
  const u = 14 + ihl;
  out.set(f.subarray(u + 2, u + 4), u);
  out.set(f.subarray(u, u + 2), u + 2);
  return out;
}
