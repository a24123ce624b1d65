// The shapes the executor consumes: @pvkit/virtio-ring's own. The executor
// needs only two members of GuestMemory, so it takes any object that has
// them (the ring's GuestMemory in the worker, a probing stand-in in tests).
import type { GuestMemory as RingGuestMemory } from '@pvkit/virtio-ring';

export type { DescriptorChain, Segment } from '@pvkit/virtio-ring';

/** The guest's memory as the executor uses it: bounds-checked views, and the size. */
export type GuestMemory = Pick<RingGuestMemory, 'bytes' | 'size'>;

/** Takes an IN (write = false) or OUT whose views are resolved, or says false (executor.ts `offload`). */
export type BlkOffload = (
  write: boolean,
  pos: number,
  views: readonly Uint8Array[],
  nViews: number,
  bytes: number,
  status: Uint8Array,
) => boolean;
