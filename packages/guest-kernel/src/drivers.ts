// The drivers this kernel knows, registered by device type. virtio-blk and
// virtio-net register here when their issues land (import their modules).
export {};
