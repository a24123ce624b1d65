// Memory (Mini-OS mm.c): a page allocator over the domain's RAM. The VMM's
// reserved pages come from memory_op(memory_map); the kernel's own pages
// (boot scratch, console buffer, ...) are accounted as the kernel's.
import {
  E820,
  E820_ENTRY,
  E820_ENTRY_SIZE,
  LIMITS,
  MEMORY_MAP,
  MEMORY_MAP_SIZE,
  PAGE_SHIFT,
  PAGE_SIZE,
} from '@pvkit/hypercall';
import { type Hypervisor, must } from './arch/hypervisor.ts';

const FREE = 0;
const VMM = 1;
const KERNEL = 2;
const APP = 3;
export type PageOwner = 'kernel' | 'app';

export class PageAllocator {
  declare readonly nrPages: number;
  declare private readonly owner: Uint8Array;
  private readonly counts = [0, 0, 0, 0];

  constructor(nrPages: number, ram: readonly [first: number, count: number][]) {
    this.nrPages = nrPages;
    this.owner = new Uint8Array(nrPages).fill(VMM);
    for (const [first, count] of ram)
      this.owner.fill(FREE, first, Math.min(first + count, nrPages));
    for (const o of this.owner) this.counts[o]++;
  }

  get free(): number {
    return this.counts[FREE];
  }
  get reservedByVmm(): number {
    return this.counts[VMM];
  }
  get reservedByKernel(): number {
    return this.counts[KERNEL];
  }
  get usedByApps(): number {
    return this.counts[APP];
  }

  /** n contiguous pages, first fit from the top (low pages stay for DMA-like use); returns the GPA. */
  alloc(n: number, who: PageOwner = 'kernel'): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`alloc of ${n} pages`);
    let run = 0;
    for (let p = this.nrPages - 1; p >= 0; p--) {
      run = this.owner[p] === FREE ? run + 1 : 0;
      if (run === n) {
        this.mark(p, n, who === 'kernel' ? KERNEL : APP);
        return p << PAGE_SHIFT;
      }
    }
    throw new Error(`out of memory: no ${n} free contiguous pages (${this.free} free)`);
  }

  /** Give back pages from alloc. */
  release(gpa: number, n: number): void {
    const first = gpa >>> PAGE_SHIFT;
    for (let p = first; p < first + n; p++)
      if (this.owner[p] !== KERNEL && this.owner[p] !== APP)
        throw new Error(`freeing page ${p} that was not allocated`);
    this.mark(first, n, FREE);
  }

  private mark(first: number, n: number, to: number): void {
    for (let p = first; p < first + n; p++) {
      this.counts[this.owner[p]]--;
      this.owner[p] = to;
      this.counts[to]++;
    }
  }
}

/**
 * init_mm: ask the VMM for the memory map, using the top page of memory as
 * boot scratch (it becomes the kernel's first page), and build the allocator.
 */
export function initMm(hv: Hypervisor, nrPages: number): { mm: PageAllocator; scratch: number } {
  const scratch = (nrPages - 1) << PAGE_SHIFT;
  const buf = scratch + MEMORY_MAP_SIZE;
  const room = Math.min(LIMITS.memory_map_entries, (PAGE_SIZE - MEMORY_MAP_SIZE) / E820_ENTRY_SIZE);
  hv.dv.setUint32(scratch + MEMORY_MAP.nr_entries, room, true);
  hv.dv.setUint32(scratch + MEMORY_MAP.buffer, buf, true);
  hv.dv.setUint32(scratch + MEMORY_MAP.buffer + 4, 0, true);
  must('memory_op(memory_map)', hv.memoryMap(scratch));
  const n = hv.dv.getUint32(scratch + MEMORY_MAP.nr_entries, true);
  const ram: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const e = buf + i * E820_ENTRY_SIZE;
    if (hv.dv.getUint32(e + E820_ENTRY.type, true) !== E820.ram) continue;
    const addr = hv.dv.getUint32(e + E820_ENTRY.addr, true);
    const size = hv.dv.getUint32(e + E820_ENTRY.size, true);
    ram.push([Math.ceil(addr / PAGE_SIZE), Math.floor(size / PAGE_SIZE)]);
  }
  const mm = new PageAllocator(nrPages, ram);
  const got = mm.alloc(1);
  if (got !== scratch) throw new Error(`boot scratch page ${scratch} is not RAM`);
  return { mm, scratch };
}
