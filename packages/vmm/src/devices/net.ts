// virtio-net, toolstack side: the "nics" config key. Entries are checked
// with the net backend's rules (parseNicConfig); a NIC on a switch is
// plugged into that switch's worker (./net-switches.ts), a NIC on a dgram or
// stream wire gets a worker of its own (bound before the domain is created:
// a port in use fails the creation with the socket's error).
import {
  NET_COUNTER_NAMES,
  NET_MTU,
  NicConfigError,
  netDeviceDescription,
  parseNicConfig,
  wireWorkerEntry,
} from '@pvkit/backends';
import { DEVICE_TYPE } from '@pvkit/hypercall';
import { defaultNicMac, validateNetFeatures } from '@pvkit/virtio-ring';
import { attachToSwitch } from './net-switches.ts';
import { registerDeviceBackend } from './registry.ts';
import { attachVirtioBackend } from './virtio-backend.ts';
import { registerVirtioModel } from './virtio-model.ts';

registerDeviceBackend({
  counterNames: NET_COUNTER_NAMES,
  key: 'nics',
  deviceType: DEVICE_TYPE.net,
  validate(entry) {
    try {
      parseNicConfig(entry);
      return null;
    } catch (e) {
      if (e instanceof NicConfigError) return e.message;
      throw e;
    }
  },
  nrQueues: () => 2,
  notifyByHypercall: (entry) => entry.notify === 'hypercall',
  attach(ctx) {
    const nic = parseNicConfig(ctx.entry);
    const name = `eth${ctx.index}`;
    const mac = nic.mac ?? defaultNicMac(ctx.domainName, ctx.index);
    const description = netDeviceDescription(mac, nic.ip);
    if (nic.backend.kind === 'switch')
      return attachToSwitch(ctx, nic.backend.switch, name, description);
    return attachVirtioBackend(ctx, {
      name,
      description,
      entry: wireWorkerEntry(),
      // One worker serves both queues (given queue 0's doorbell and port).
      workers: [{ queue: 0, data: { wire: nic.backend, mtu: NET_MTU, nic: name } }],
      counterSlots: NET_COUNTER_NAMES.length,
    });
  },
});

registerVirtioModel(DEVICE_TYPE.net, {
  // The spec's dependency rules (e.g. GUEST_TSO4 needs GUEST_CSUM): FEATURES_OK is refused otherwise.
  acceptFeatures: (f) => validateNetFeatures(f).length === 0,
});
