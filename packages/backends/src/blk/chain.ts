// The shapes the executor consumes, as @pvkit/virtio-ring's device half hands
// them out (same names, same fields). They are declared here, structurally,
// only until the ring package lands: at merge these become
// `export type { Segment, DescriptorChain, GuestMemory } from '@pvkit/virtio-ring'`.

/** One descriptor of a validated chain: a guest-physical range and its direction. */
export type Segment = { addr: number; len: number; writable: boolean };

/** A chain the ring has already walked and bounds-checked (readable segments first). */
export type DescriptorChain = {
  head: number;
  segments: Segment[];
  readableLen: number;
  writableLen: number;
};

/** The guest's memory: bounds-checked views of its SharedArrayBuffer. */
export type GuestMemory = {
  /** A view of [addr, addr+len); throws on a range outside guest memory. */
  bytes(addr: number | bigint, len: number): Uint8Array;
  readonly size: number;
};
