// The device types this build of pvkit knows. Both the toolstack and the
// hypervisor service worker import this module: a device type registers its
// toolstack side (registerDeviceBackend, ./registry.ts) and its register
// model (registerVirtioModel, ./virtio-model.ts) from a module imported below.
import './blk.ts';
import './net.ts';
