// @pvkit/vmm: the hypervisor and toolstack. See README.md.
export { bundleEntry } from './boot/bundle.ts';
export { compileOnWorkerThreads } from './boot/worker-teardown.ts';
export { formatDuration, parseDuration } from './config/duration.ts';
export { ConfigError, type DomainConfig, parseConfig, parseDomain } from './config/schema.ts';
export { formatSize, parseMemorySize } from './config/size.ts';
export {
  type MmioDeviceModel,
  type MmioModelFactory,
  registerMmioModel,
} from './devices/models.ts';
export { liveSwitches } from './devices/net-switches.ts';
export {
  DEVICE_CONFIG_KEYS,
  type DeviceAttachContext,
  type DeviceAttachment,
  type DeviceBackendType,
  deviceBackendFor,
  registerDeviceBackend,
  unregisterDeviceBackend,
} from './devices/registry.ts';
export { CALL_NAMES } from './service/dispatch.ts';
export { DeviceRestartError } from './toolstack/device-restart.ts';
export {
  CONSOLE_LOG_LINES,
  type DeviceStats,
  Domain,
  type DomainState,
  type DomainStats,
  ENDED_CONSOLE_CHARS,
  ENDED_CONSOLE_LINES,
  type ExitInfo,
  type ExitReason,
} from './toolstack/domain.ts';
export type { ServiceStats } from './toolstack/service-client.ts';
export { KERNEL_ENTRY, Vmm, type VmmOptions } from './toolstack/vmm.ts';
