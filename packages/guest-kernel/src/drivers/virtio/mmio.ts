// The virtio-mmio transport as a pvkit guest sees it: there is no register
// window in guest memory; every register access is a trap (pvkit_mmio_op)
// to the VMM, which owns the device's register model. That is what real
// MMIO costs too (a VM exit per access), so drivers touch registers only at
// probe and on rare events, never per request.
import type { RegisterAccess } from '@pvkit/virtio-ring';
import { HypercallFailed, type Hypervisor } from '../../arch/hypervisor.ts';

/** The register block of device `handle` (its device-table index), by hypercall. */
export class MmioRegisters implements RegisterAccess {
  declare private readonly hv: Hypervisor;
  declare readonly handle: number;

  constructor(hv: Hypervisor, handle: number) {
    this.hv = hv;
    this.handle = handle;
  }

  /** A 32-bit register (or config word). Narrower accesses are not trapped: read the word. */
  read(offset: number, size = 4): number {
    if (size !== 4) throw new RangeError(`mmio read of ${size} bytes at 0x${offset.toString(16)}`);
    const r = this.hv.mmioRead(this.handle, offset);
    if (r < 0) throw new HypercallFailed(`pvkit_mmio_op(read 0x${offset.toString(16)})`, r);
    return r;
  }

  write(offset: number, value: number, size = 4): void {
    if (size !== 4) throw new RangeError(`mmio write of ${size} bytes at 0x${offset.toString(16)}`);
    const r = this.hv.mmioWrite(this.handle, offset, value >>> 0);
    if (r < 0) throw new HypercallFailed(`pvkit_mmio_op(write 0x${offset.toString(16)})`, r);
  }
}
