// The device status byte (VIRTIO 1.2 §2.1) as a state machine, device side.
//
// The driver walks it forward, one bit at a time: reset (0) → ACKNOWLEDGE →
// DRIVER → FEATURES_OK (which the device may refuse) → DRIVER_OK; FAILED
// at any point when it gives up. It never clears a bit except by writing 0
// (reset). DEVICE_NEEDS_RESET belongs to the device alone.

export const VIRTIO_STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

const KNOWN = 1 | 2 | 4 | 8 | 64 | 128;
const S = VIRTIO_STATUS;

/** Every way a driver's status write can be wrong. */
export type StatusErrorKind =
  /** A bit the spec does not define. */
  | 'unknown-bit'
  /** Clears a bit that was set (only a write of 0 resets). */
  | 'bit-cleared'
  /** DRIVER without ACKNOWLEDGE. */
  | 'driver-before-acknowledge'
  /** FEATURES_OK without DRIVER. */
  | 'features-ok-before-driver'
  /** DRIVER_OK without FEATURES_OK (the device accepted). */
  | 'driver-ok-before-features-ok'
  /** Sets DEVICE_NEEDS_RESET, which only the device may set. */
  | 'device-only-bit'
  /** Sets a new bit other than FAILED after FAILED: the driver must reset first. */
  | 'set-after-failed';

/** What a driver's write to the status register did. */
export type StatusWriteOutcome =
  | { kind: 'reset' }
  /** Accepted; `added` holds the newly set bits. */
  | { kind: 'ok'; added: number }
  /** FEATURES_OK asked for and refused: the status stays without it. */
  | { kind: 'features-refused' }
  /** Rejected; the status is unchanged. */
  | { kind: 'invalid'; error: StatusErrorKind };

/** Why a driver's status write is invalid, or null. `current` is what the device holds. */
export function checkStatusWrite(current: number, next: number): StatusErrorKind | null {
  if (next === 0) return null;
  if ((next & ~KNOWN) !== 0) return 'unknown-bit';
  if ((next & S.DEVICE_NEEDS_RESET) !== 0 && (current & S.DEVICE_NEEDS_RESET) === 0)
    return 'device-only-bit';
  // DEVICE_NEEDS_RESET is the device's: a driver write neither sets nor clears it.
  const cur = current & ~S.DEVICE_NEEDS_RESET;
  const nxt = next & ~S.DEVICE_NEEDS_RESET;
  if ((cur & ~nxt) !== 0) return 'bit-cleared';
  const added = nxt & ~cur;
  if ((cur & S.FAILED) !== 0 && added !== 0) return 'set-after-failed';
  if ((nxt & S.DRIVER) !== 0 && (nxt & S.ACKNOWLEDGE) === 0) return 'driver-before-acknowledge';
  if ((nxt & S.FEATURES_OK) !== 0 && (nxt & S.DRIVER) === 0) return 'features-ok-before-driver';
  // DRIVER_OK needs FEATURES_OK already accepted, not merely asked for in the same write.
  if ((added & S.DRIVER_OK) !== 0 && (cur & S.FEATURES_OK) === 0)
    return 'driver-ok-before-features-ok';
  return null;
}

/** The status byte a device holds, with the transitions a driver may make. */
export class DeviceStatus {
  private current = 0;

  get value(): number {
    return this.current;
  }

  has(bit: number): boolean {
    return (this.current & bit) !== 0;
  }

  /**
   * Apply a driver's write. `acceptFeatures` runs when FEATURES_OK is newly
   * set: returning false refuses it (the driver sees it missing and must set
   * FAILED).
   */
  driverWrite(next: number, acceptFeatures: () => boolean): StatusWriteOutcome {
    if (next === 0) {
      this.current = 0;
      return { kind: 'reset' };
    }
    const error = checkStatusWrite(this.current, next);
    if (error !== null) return { kind: 'invalid', error };
    const keep = this.current & S.DEVICE_NEEDS_RESET;
    let added = next & ~this.current & ~S.DEVICE_NEEDS_RESET;
    if ((added & S.FEATURES_OK) !== 0 && !acceptFeatures()) {
      this.current = ((next & ~S.FEATURES_OK) | keep) & 0xff;
      added &= ~S.FEATURES_OK;
      return { kind: 'features-refused' };
    }
    this.current = (next | keep) & 0xff;
    return { kind: 'ok', added };
  }

  /** The device found an error it cannot recover from (a broken queue). */
  setNeedsReset(): void {
    this.current |= S.DEVICE_NEEDS_RESET;
  }

  reset(): void {
    this.current = 0;
  }
}

/** "ACKNOWLEDGE|DRIVER|FEATURES_OK" */
export function describeStatus(status: number): string {
  const names = Object.entries(VIRTIO_STATUS)
    .filter(([, bit]) => (status & bit) !== 0)
    .map(([name]) => name);
  return names.join('|') || 'RESET';
}
