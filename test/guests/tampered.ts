// The real pvkit kernel, booted on a start_info that something spoiled
// first: the cmdline says what ("magic" or "abi").
import { workerData } from 'node:worker_threads';
import { type BootParams, startKernel } from '../../packages/guest-kernel/src/index.ts';
import { START_INFO } from '../../packages/hypercall/src/index.ts';

const boot = workerData as BootParams;
const dv = new DataView(boot.memory);
const what = new TextDecoder()
  .decode(new Uint8Array(boot.memory, boot.startInfo + START_INFO.cmd_line, 8))
  .replace(/\0.*$/s, '');
if (what === 'magic') dv.setUint32(boot.startInfo + START_INFO.magic, 0xdeadbeef, true);
if (what === 'abi') dv.setUint32(boot.startInfo + START_INFO.abi_version, (2 << 16) | 3, true);
await startKernel(boot);
