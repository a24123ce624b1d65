// virtio-net tx input as a driver writes it, good and bad: a 12-byte
// virtio_net_hdr (flags, gso_type, checksum offsets around the frame's end)
// and an Ethernet frame from a small pool of MACs (so the switch learns and
// finds stations), of lengths around every limit. Plus a plain checksum for
// the differential check of the fast one.
import {
  ETH_HLEN,
  hasNetFeature,
  NET_HDR_SIZE,
  NetGso,
  NetHdrFlag,
  NetHdrOffset,
  netFeatures,
  type VirtioNetFeatureName,
} from '../../packages/virtio-ring/src/index.ts';
import type { Rng } from './rng.ts';

const TX_FEATURES: VirtioNetFeatureName[] = [
  'CSUM',
  'HOST_TSO4',
  'HOST_TSO6',
  'HOST_UFO',
  'HOST_USO',
  'HOST_ECN',
];

/** A random set of the features that matter on tx (rules between them are not the device's to check here). */
export function txFeatures(rng: Rng): bigint {
  return netFeatures(...TX_FEATURES.filter(() => rng.chance(0.6)));
}

/** Stations: unicast ones, plus broadcast, a multicast group and the all-zero MAC. */
export function macPool(rng: Rng): Uint8Array[] {
  const pool: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const m = new Uint8Array(6);
    rng.fill(m);
    m[0] = (m[0] & 0xfc) | 0x02; // locally administered unicast
    pool.push(m);
  }
  pool.push(new Uint8Array(6).fill(0xff));
  pool.push(Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01));
  pool.push(new Uint8Array(6));
  return pool;
}

function frameLen(rng: Rng, maxFrame: number): number {
  switch (rng.int(6)) {
    case 0:
      return rng.int(ETH_HLEN + 1);
    case 1:
      return rng.pick([42, 60, 64, 98]);
    case 2:
      return maxFrame + rng.range(-1, 1);
    default:
      return rng.range(ETH_HLEN, Math.min(2000, maxFrame + 16));
  }
}

/** The header and frame bytes of one tx packet (the header first, as on the ring). */
export function txPacket(
  rng: Rng,
  macs: readonly Uint8Array[],
  maxFrame: number,
  acked: bigint,
): Uint8Array {
  const len = frameLen(rng, maxFrame);
  const pkt = new Uint8Array(NET_HDR_SIZE + len);
  const frame = pkt.subarray(NET_HDR_SIZE);
  rng.fill(frame);
  const unicast = macs.slice(0, 3);
  const dst = rng.chance(0.7) ? rng.pick(unicast) : rng.pick(macs);
  const src = rng.chance(0.9) ? rng.pick(unicast) : rng.pick(macs);
  frame.set(dst.subarray(0, Math.min(6, len)));
  if (len > 6) frame.set(src.subarray(0, Math.min(6, len - 6)), 6);

  const dv = new DataView(pkt.buffer);
  // Most headers are what a good driver writes for these features (the
  // device then acts on them); the rest set any flag, GSO type and offset.
  const sane = rng.chance(0.7);
  const needs = hasNetFeature(acked, 'CSUM') ? NetHdrFlag.NEEDS_CSUM : 0;
  const junk = [
    NetHdrFlag.DATA_VALID,
    NetHdrFlag.RSC_INFO,
    NetHdrFlag.NEEDS_CSUM,
    rng.u32() & 0xff,
  ];
  const flags = sane ? rng.pick([0, needs]) : rng.pick(junk);
  const gsos = [NetGso.TCPV4, NetGso.UDP, NetGso.TCPV6, NetGso.UDP_L4, NetGso.TCPV4 | NetGso.ECN];
  const gso = sane ? NetGso.NONE : rng.pick([...gsos, NetGso.ECN, rng.u32() & 0xff]);
  const start = sane
    ? rng.int(Math.max(1, len - 1))
    : rng.pick([len - 2, len - 1, len, rng.u32() & 0xffff]);
  const room = Math.max(1, len - start - 1);
  const offset = sane ? rng.int(room) : rng.pick([0, room - 1, rng.u32() & 0xffff]);
  dv.setUint8(NetHdrOffset.FLAGS, flags);
  dv.setUint8(NetHdrOffset.GSO_TYPE, gso);
  dv.setUint16(NetHdrOffset.HDR_LEN, rng.u32() & 0xffff, true);
  dv.setUint16(NetHdrOffset.GSO_SIZE, rng.pick([0, 1448, rng.u32() & 0xffff]), true);
  dv.setUint16(NetHdrOffset.CSUM_START, start & 0xffff, true);
  dv.setUint16(NetHdrOffset.CSUM_OFFSET, offset & 0xffff, true);
  dv.setUint16(NetHdrOffset.NUM_BUFFERS, rng.chance(0.9) ? 0 : rng.u32() & 0xffff, true);
  return pkt;
}

/** RFC 1071 the long way: 16-bit big-endian words, end-around carry, complement. */
export function plainChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) {
    sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
