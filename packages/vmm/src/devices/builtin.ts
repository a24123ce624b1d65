// The device types this build of pvkit knows. Both the toolstack and the
// hypervisor service worker import this module: a device type registers its
// toolstack side (registerDeviceBackend, ./registry.ts) and its register
// model (registerMmioModel, ./models.ts) from a module imported below.
// None yet: virtio-blk and virtio-net come with their own issues.
export {};
