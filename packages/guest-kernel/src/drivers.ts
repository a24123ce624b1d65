// The drivers this kernel knows, registered by device type.
import { registerDriver } from './devices.ts';
import { virtioBlkDriver } from './drivers/virtio-blk/driver.ts';
import { virtioNetDriver } from './drivers/virtio-net/driver.ts';

registerDriver(virtioBlkDriver);
registerDriver(virtioNetDriver);
