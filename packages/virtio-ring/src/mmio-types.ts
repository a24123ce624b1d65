// The shapes around the virtio-mmio register model: its options, the hooks
// a device implementation plugs in, and the protocol errors it reports.

import type { FeatureSet } from './features.ts';
import type { QueueAddresses } from './layout.ts';
import type { StatusErrorKind } from './status.ts';

/** Every way a driver can misuse the register block. */
export type MmioProtocolErrorKind =
  | 'bad-access-size'
  | 'unknown-register'
  | 'read-only-register'
  | 'write-only-register'
  | 'features-outside-negotiation'
  | 'no-such-queue'
  | 'queue-changed-while-ready'
  | 'bad-queue-size'
  | 'queue-not-configured'
  | 'notify-before-driver-ok'
  | 'config-out-of-range'
  | 'bad-status-write';

export interface MmioProtocolError {
  kind: MmioProtocolErrorKind;
  offset: number;
  detail: string;
  /** For 'bad-status-write': which rule. */
  statusError?: StatusErrorKind;
}

/** One queue as the driver configured it. */
export interface MmioQueueState extends QueueAddresses {
  index: number;
  maxSize: number;
  ready: boolean;
}

export interface MmioHooks {
  /** FEATURES_OK was asked for: return false to refuse the negotiated set. */
  acceptFeatures?(features: FeatureSet): boolean;
  /** DRIVER_OK: the device may start its queues. */
  driverOk?(features: FeatureSet, queues: MmioQueueState[]): void;
  /** Every accepted status write (FAILED included). */
  statusChanged?(status: number, previous: number): void;
  /** QueueNotify: `queue` is the low 16 bits, `value` the whole write (NOTIFICATION_DATA). */
  notify?(queue: number, value: number): void;
  /** A reset (status 0) after the register state was cleared. */
  reset?(): void;
  /** A driver write to config space; return true to store it. */
  configWrite?(offset: number, size: number, value: number): boolean;
  protocolError?(error: MmioProtocolError): void;
}

export interface MmioDeviceOptions {
  deviceId: number;
  vendorId?: number;
  /** Offered features; VERSION_1 is always offered (this is a modern transport). */
  features: FeatureSet;
  /** QueueNumMax of each queue. */
  queueMaxSizes: readonly number[];
  /** Initial device config space. */
  config?: Uint8Array;
  hooks?: MmioHooks;
}
