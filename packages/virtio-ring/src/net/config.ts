// virtio-net configuration space and queue numbering (VIRTIO 1.2 §5.1.2, §5.1.4).
//
// Only the four fields pvkit uses are modelled: {mac, status,
// max_virtqueue_pairs, mtu}. The later fields (speed, duplex, RSS) exist only
// with features pvkit never offers, so the config space we expose ends at 12.

import { readLe16, writeLe16 } from './bytes.ts';
import { hasNetFeature } from './features.ts';

/** Byte offsets inside the device-specific config space (little-endian). */
export const NetConfigOffset = {
  MAC: 0,
  STATUS: 6,
  MAX_VIRTQUEUE_PAIRS: 8,
  MTU: 10,
} as const;

/** Bytes of config space pvkit exposes. */
export const NET_CONFIG_SIZE = 12;

/** Bits of the `status` field. */
export const VirtioNetStatus = {
  LINK_UP: 1,
  ANNOUNCE: 2,
} as const;

/** Spec limits on what a device may advertise. */
export const NET_MTU_MIN = 68;
export const NET_MTU_MAX = 65535;
export const NET_MAX_VQ_PAIRS = 0x8000;

export interface NetConfig {
  /** 6 bytes; only meaningful to the driver when VIRTIO_NET_F_MAC is negotiated. */
  mac: Uint8Array;
  /** VirtioNetStatus bits; only meaningful with VIRTIO_NET_F_STATUS. */
  status: number;
  /** Only meaningful with VIRTIO_NET_F_MQ or VIRTIO_NET_F_RSS. */
  maxVirtqueuePairs: number;
  /** Only meaningful with VIRTIO_NET_F_MTU. */
  mtu: number;
}

/** What is wrong with a config a device is about to advertise. */
export type NetConfigError =
  | 'mac-not-6-bytes'
  | 'status-not-u16'
  | 'max-virtqueue-pairs-out-of-range'
  | 'mtu-out-of-range';

export function validateNetConfig(cfg: NetConfig): NetConfigError | null {
  if (cfg.mac.length !== 6) return 'mac-not-6-bytes';
  if (!Number.isInteger(cfg.status) || cfg.status < 0 || cfg.status > 0xffff) {
    return 'status-not-u16';
  }
  const pairs = cfg.maxVirtqueuePairs;
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > NET_MAX_VQ_PAIRS) {
    return 'max-virtqueue-pairs-out-of-range';
  }
  if (!Number.isInteger(cfg.mtu) || cfg.mtu < NET_MTU_MIN || cfg.mtu > NET_MTU_MAX) {
    return 'mtu-out-of-range';
  }
  return null;
}

/**
 * Write the config into `out` at `offset` (a register model's config bytes).
 * Throws on an invalid config or a short buffer: both are host bugs, never
 * guest input.
 */
export function encodeNetConfig(cfg: NetConfig, out: Uint8Array, offset = 0): void {
  const problem = validateNetConfig(cfg);
  if (problem) throw new RangeError(`invalid virtio-net config: ${problem}`);
  if (offset < 0 || offset + NET_CONFIG_SIZE > out.length) {
    throw new RangeError('virtio-net config does not fit in the output buffer');
  }
  out.set(cfg.mac, offset + NetConfigOffset.MAC);
  writeLe16(out, offset + NetConfigOffset.STATUS, cfg.status);
  writeLe16(out, offset + NetConfigOffset.MAX_VIRTQUEUE_PAIRS, cfg.maxVirtqueuePairs);
  writeLe16(out, offset + NetConfigOffset.MTU, cfg.mtu);
}

/** Read the config from `bytes` at `offset` (the driver's view). */
export function decodeNetConfig(bytes: Uint8Array, offset = 0): NetConfig {
  if (offset < 0 || offset + NET_CONFIG_SIZE > bytes.length) {
    throw new RangeError('virtio-net config is shorter than 12 bytes');
  }
  return {
    mac: bytes.slice(offset + NetConfigOffset.MAC, offset + NetConfigOffset.MAC + 6),
    status: readLe16(bytes, offset + NetConfigOffset.STATUS),
    maxVirtqueuePairs: readLe16(bytes, offset + NetConfigOffset.MAX_VIRTQUEUE_PAIRS),
    mtu: readLe16(bytes, offset + NetConfigOffset.MTU),
  };
}

/** Whether the link is up, as a driver must read it: without STATUS it is assumed up. */
export function netLinkUp(acked: bigint, status: number): boolean {
  return !hasNetFeature(acked, 'STATUS') || (status & VirtioNetStatus.LINK_UP) !== 0;
}

// Queue numbering: receiveq k = 2(k-1), transmitq k = 2(k-1)+1, controlq = 2N.
// We number pairs from 0, so pair p has rx 2p and tx 2p+1.

/** Number of queue pairs the driver may use: N from config with MQ or RSS, else 1. */
export function netQueuePairs(acked: bigint, maxVirtqueuePairs: number): number {
  const multi = hasNetFeature(acked, 'MQ') || hasNetFeature(acked, 'RSS');
  return multi ? Math.max(1, Math.min(maxVirtqueuePairs, NET_MAX_VQ_PAIRS)) : 1;
}

/** Total virtqueues of the device: 2N, plus the control queue with CTRL_VQ. */
export function netQueueCount(acked: bigint, pairs: number): number {
  return 2 * pairs + (hasNetFeature(acked, 'CTRL_VQ') ? 1 : 0);
}

export function netRxQueueIndex(pair: number): number {
  return 2 * pair;
}

export function netTxQueueIndex(pair: number): number {
  return 2 * pair + 1;
}

export function netCtrlQueueIndex(pairs: number): number {
  return 2 * pairs;
}

export type NetQueueRole =
  | { kind: 'rx'; pair: number }
  | { kind: 'tx'; pair: number }
  | { kind: 'ctrl' };

/** What queue `index` is, or null if the device has no such queue. */
export function netQueueRole(
  index: number,
  pairs: number,
  hasCtrlVq: boolean,
): NetQueueRole | null {
  if (!Number.isInteger(index) || index < 0) return null;
  if (index < 2 * pairs) {
    return index % 2 === 0
      ? { kind: 'rx', pair: index / 2 }
      : { kind: 'tx', pair: (index - 1) / 2 };
  }
  return hasCtrlVq && index === 2 * pairs ? { kind: 'ctrl' } : null;
}
