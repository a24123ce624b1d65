// @pvkit/virtio-ring: split virtqueues in shared memory (see README.md).

export * from './blk/index.ts';
export type {
  BufferRef,
  DescriptorChain,
  MalformedChain,
  PoppedChain,
  Segment,
} from './chain.ts';
export { isMalformed } from './chain.ts';
export { ChainReader } from './chain-reader.ts';
export { indirectTables, writeDescriptor } from './desc-writer.ts';
export type {
  ControlQueue,
  DeviceControlSnapshot,
  DeviceDescription,
  DeviceStateValue,
} from './device-control.ts';
export {
  DEVICE_CONTROL,
  DEVICE_STATE,
  DeviceControl,
  MAX_CONTROL_CONFIG,
  MAX_CONTROL_QUEUES,
  QUEUE_CONTROL,
  QUEUE_CONTROL_STRIDE,
} from './device-control.ts';
export { DeviceCounters, QUEUE_COUNTER, QUEUE_COUNTER_SLOTS } from './device-counters.ts';
export type { DeviceQueueOptions } from './device-queue.ts';
export { DeviceQueue } from './device-queue.ts';
export {
  DOORBELL_STRIDE,
  DOORBELL_WORDS,
  Doorbell,
  WAIT_SLICE_MAX_MS,
  WAIT_SLICE_MIN_MS,
} from './doorbell.ts';
export type { DriverInitFailure, DriverInitOptions, DriverInitResult } from './driver-init.ts';
export { initMmioDriver } from './driver-init.ts';
export type { DriverQueueOptions } from './driver-queue.ts';
export { DriverQueue } from './driver-queue.ts';
export type { DeviceQueueFaultKind, VirtqueueErrorKind } from './errors.ts';
export { DeviceFaultError, VirtqueueError, VirtqueueUsageError } from './errors.ts';
export * from './features.ts';
export { HaltPoll, type HaltPollOptions } from './halt-poll.ts';
export * from './layout.ts';
export type { GuestMemoryErrorKind } from './memory.ts';
export { GuestMemory, GuestMemoryError, LITTLE_ENDIAN_HOST } from './memory.ts';
export { MmioDevice } from './mmio-device.ts';
export * from './mmio-regs.ts';
export type {
  MmioDeviceOptions,
  MmioHooks,
  MmioProtocolError,
  MmioProtocolErrorKind,
  MmioQueueState,
} from './mmio-types.ts';
export * from './net/index.ts';
export { IndexPublisher, NotifySwitch } from './notify.ts';
export type { RingIndices } from './queue-setup.ts';
export { clearRings, ringIndices } from './queue-setup.ts';
export {
  AtomicsIndexAccess,
  type RingIndexAccess,
  WASM_PAGE,
  WasmIndexAccess,
  type WasmMemory,
} from './ring-index.ts';
export * from './status.ts';
export type { RawDescriptor } from './testing.ts';
export { RawDriver } from './testing.ts';
