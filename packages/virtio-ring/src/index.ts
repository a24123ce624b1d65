// @pvkit/virtio-ring: see README.md

export * from './net/index.ts';
