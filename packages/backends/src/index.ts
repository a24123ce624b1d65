// @pvkit/backends: see README.md

export * from './blk/index.ts';
export * from './net/index.ts';
export * from './virtio/index.ts';
