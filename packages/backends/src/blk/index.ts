// virtio-blk backend parts: disk config, images, the request executor.
export type { BlkOffload, DescriptorChain, GuestMemory, Segment } from './chain.ts';
export * from './config.ts';
export * from './counters.ts';
export * from './device.ts';
export * from './executor.ts';
export * from './image.ts';
export { BlkIoPool, type BlkIoPoolOptions, type BlkPendingJob } from './io-pool.ts';
export * from './memory-image.ts';
export * from './prepare.ts';
export { BlkQueueHandler, type BlkQueueOptions } from './queue-handler.ts';
export * from './raw-image.ts';
export type { BlkWorkerData } from './worker-entry.ts';
export { blkWorkerEntry } from './worker-entry.ts';
