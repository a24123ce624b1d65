// Console (Mini-OS console.c): printk through console_io, from a buffer
// page of the kernel's own. Output is lines; the VMM prefixes them with the
// domain's name.
import { PAGE_SIZE } from '@pvkit/hypercall';
import { type Hypervisor, must } from './arch/hypervisor.ts';

export class Console {
  declare private readonly hv: Hypervisor;
  declare private readonly buf: number;
  private readonly enc = new TextEncoder();
  declare private readonly view: Uint8Array;

  constructor(hv: Hypervisor, bufferGpa: number) {
    this.hv = hv;
    this.buf = bufferGpa;
    this.view = hv.u8.subarray(bufferGpa, bufferGpa + PAGE_SIZE);
  }

  /** Write text as is (UTF-8), a page at a time. */
  write(text: string): void {
    let rest = text;
    while (rest.length > 0) {
      // encodeInto stops at a whole character when the page is full
      const { read, written } = this.enc.encodeInto(rest, this.view);
      must('console_io(write)', this.hv.consoleWrite(this.buf, written));
      rest = rest.slice(read);
    }
  }

  /** One line. */
  printk(line: string): void {
    this.write(`${line}\n`);
  }

  /** Up to a page of typed input, if the toolstack sent any. */
  read(): string {
    const n = must('console_io(read)', this.hv.consoleRead(this.buf, PAGE_SIZE));
    return new TextDecoder().decode(this.view.slice(0, n));
  }
}

/**
 * A console for before memory is known (a bad start_info): write through
 * the top page of memory, the one page a kernel can always find.
 */
export function earlyPrintk(hv: Hypervisor, line: string): void {
  const top = hv.u8.length - PAGE_SIZE;
  const { written } = new TextEncoder().encodeInto(`${line}\n`, hv.u8.subarray(top));
  hv.consoleWrite(top, written);
}
