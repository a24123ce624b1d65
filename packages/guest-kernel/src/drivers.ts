// The drivers this kernel knows, registered by device type. virtio-net
// registers here when its issue lands (import its module and register it).
import { registerDriver } from './devices.ts';
import { virtioBlkDriver } from './drivers/virtio-blk/driver.ts';

registerDriver(virtioBlkDriver);
