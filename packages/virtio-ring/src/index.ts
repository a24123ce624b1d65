// @pvkit/virtio-ring: see README.md

export * from './blk/index.ts';
