// @pvkit/virtio-ring: split virtqueues in shared memory (see README.md).
export type { DescriptorChain, MalformedChain, PoppedChain, Segment } from './chain.ts';
export { isMalformed } from './chain.ts';
export type { DeviceQueueFaultKind, VirtqueueErrorKind } from './errors.ts';
export { DeviceFaultError, VirtqueueError, VirtqueueUsageError } from './errors.ts';
export * from './layout.ts';
export type { GuestMemoryErrorKind } from './memory.ts';
export { GuestMemory, GuestMemoryError, LITTLE_ENDIAN_HOST } from './memory.ts';
