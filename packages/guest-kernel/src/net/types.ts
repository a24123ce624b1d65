// The stack's contracts with the world around it: the link below (a NIC
// driver), the clock, and the errors it returns to callers.

/** Checksum offload request attached to a transmitted frame (virtio NEEDS_CSUM). */
export interface TxOptions {
  /**
   * Offsets from the start of the frame: sum from `start` to the end of the
   * frame and store the complement at `start + offset`. The field already
   * holds the folded pseudo-header sum.
   */
  needsCsum?: { start: number; offset: number };
}

export interface RxOptions {
  /** The device vouches for the L4 checksum (virtio DATA_VALID): UDP skips its check. */
  dataValid?: boolean;
}

/**
 * A network device as the stack sees it. The kernel adapts its virtio-net
 * driver to this.
 */
export interface NetLink {
  /** The interface's MAC address (6 bytes). */
  readonly mac: Uint8Array;
  /** Largest IP packet the link carries (Ethernet payload), e.g. 1500. */
  readonly mtu: number;
  /** True when the device completes checksums of frames sent with needsCsum (CSUM was acked). */
  readonly txCsumOffload?: boolean;
  /**
   * Send one Ethernet frame (no FCS, no virtio header). `frame` and `opts`
   * are only valid during the call: the stack reuses both, so the link copies
   * what it keeps. Returns false when the frame was dropped (no tx buffer).
   * It must not call back into the same interface's receive() synchronously.
   */
  transmit(frame: Uint8Array, opts: TxOptions): boolean;
}

/** Milliseconds, monotonic. The kernel passes its timer clock. */
export interface NetClock {
  now(): number;
}

/** Errors returned (never thrown) to socket callers, named after their POSIX errno. */
export type NetError =
  | 'EMSGSIZE' // larger than the route's MTU allows (no fragmentation)
  | 'ENETUNREACH' // no interface or gateway for the destination
  | 'ENETDOWN' // the interface's link is down
  | 'ENOBUFS' // the link had no tx buffer
  | 'EADDRINUSE' // port already bound, or no ephemeral port left
  | 'EADDRNOTAVAIL' // bind to an address no interface has
  | 'EACCES' // broadcast without the socket's broadcast flag
  | 'EINVAL' // bad argument (port, TTL, already bound)
  | 'EBADF' // the socket was closed
  | 'EAGAIN'; // nothing to receive yet

export function isNetError(v: unknown): v is NetError {
  return typeof v === 'string';
}
