// The vCPU worker's entry point: the only guest-kernel file that may import
// a node: module. It takes what the VMM handed this vCPU (guest memory, its
// mailbox, doorbells, the start_info address) and starts the kernel, as a
// boot loader jumps to a kernel's entry with start_info in a register.
import { workerData } from 'node:worker_threads';
import type { BootParams } from './arch/hypervisor.ts';
import { startKernel } from './kernel.ts';

await startKernel(workerData as BootParams);
