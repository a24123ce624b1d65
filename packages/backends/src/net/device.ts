// What a pvkit virtio-net device offers, whichever backend serves it: one
// rx/tx queue pair, the features below, and a config space holding the MAC,
// link status (always up), the MTU and the pvkit block with the guest's
// IPv4 address. The driver's answer is checked by the register model
// (validateNetFeatures) and honoured by the backends (what was acked).
import {
  type DeviceDescription,
  ETH_DATA_LEN,
  encodeNetConfig,
  encodePvkitNetConfig,
  type FeatureSet,
  netFeatures,
  PVKIT_NET_CONFIG_TOTAL,
  RING_FEATURES,
  VIRTIO_NET_DEVICE_ID,
  VirtioNetStatus,
} from '@pvkit/virtio-ring';

/** QueueNumMax of the rx and the tx queue. */
export const NET_QUEUE_SIZE = 1024;
/** The link's MTU (config space, F_MTU): plain Ethernet. */
export const NET_MTU = ETH_DATA_LEN;

/** VERSION_1, EVENT_IDX, INDIRECT_DESC, MAC, STATUS, MTU, MRG_RXBUF, CSUM, GUEST_CSUM. */
export const NET_DEVICE_FEATURES: FeatureSet =
  RING_FEATURES | netFeatures('MAC', 'STATUS', 'MTU', 'MRG_RXBUF', 'CSUM', 'GUEST_CSUM');

export function netDeviceDescription(
  mac: Uint8Array,
  ip: { addr: number; prefix: number } | null,
): DeviceDescription {
  const config = new Uint8Array(PVKIT_NET_CONFIG_TOTAL);
  encodeNetConfig(
    { mac, status: VirtioNetStatus.LINK_UP, maxVirtqueuePairs: 1, mtu: NET_MTU },
    config,
  );
  encodePvkitNetConfig({ ipv4: ip }, config);
  return {
    deviceId: VIRTIO_NET_DEVICE_ID,
    features: NET_DEVICE_FEATURES,
    queueMaxSizes: [NET_QUEUE_SIZE, NET_QUEUE_SIZE],
    config,
  };
}
