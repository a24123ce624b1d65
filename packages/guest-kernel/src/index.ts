// @pvkit/guest-kernel: the PV mini kernel that runs in a vCPU worker. See README.md.
export type { AppSpec } from './apps/app.ts';
export { APPS, appCommandError, splitCommand } from './apps/registry.ts';
export { type BootParams, Hypervisor, must } from './arch/hypervisor.ts';
export { type Driver, registerDriver } from './devices.ts';
export { BANNER_PREFIX, KERNEL_VERSION, type Kernel, startKernel } from './kernel.ts';
export type { DeviceInfo, StartInfo } from './start-info.ts';
export type { Sys } from './syscalls.ts';
