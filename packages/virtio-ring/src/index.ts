// @pvkit/virtio-ring: see README.md
export {};
