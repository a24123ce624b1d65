// Events (Mini-OS events.c): every port starts masked; a handler is bound
// per port; the upcall handler is called at scheduling points (pvkit has no
// asynchronous interrupts: the kernel runs with upcalls masked and notices
// events when it yields or wakes).
import {
  clearEvent,
  EVTCHN_WORD_BITS,
  maskEvent,
  maskWord,
  NR_EVENT_CHANNELS,
  pendingWord,
  VCPU_INFO,
  vcpuInfoWord,
} from '@pvkit/hypercall';
import { type Hypervisor, must } from './arch/hypervisor.ts';

export type EventHandler = (port: number) => void;

export class Events {
  declare private readonly hv: Hypervisor;
  private readonly handlers: (EventHandler | undefined)[] = new Array(NR_EVENT_CHANNELS);
  private readonly upcallPending = vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_pending);
  private readonly pendingSel = vcpuInfoWord(0, VCPU_INFO.evtchn_pending_sel);
  /** Events dispatched, for the curious. */
  handled = 0;

  /** init_events: mask every port, drop anything pending, keep upcalls masked. */
  constructor(hv: Hypervisor) {
    this.hv = hv;
    const w = hv.words;
    hv.setUpcallMask(true);
    for (let i = 0; i < NR_EVENT_CHANNELS / EVTCHN_WORD_BITS; i++) {
      Atomics.store(w, maskWord(i * EVTCHN_WORD_BITS), -1);
      Atomics.store(w, pendingWord(i * EVTCHN_WORD_BITS), 0);
    }
    Atomics.store(w, this.pendingSel, 0);
    Atomics.store(w, this.upcallPending, 0);
  }

  /** Attach `handler` to `port` and unmask it (a pending event is then delivered). */
  bind(port: number, handler: EventHandler): void {
    this.handlers[port] = handler;
    must(`unmask port ${port}`, this.hv.unmask(port));
  }

  /** Detach and mask (the port itself stays bound in the VMM until closed). */
  unbind(port: number): void {
    maskEvent(this.hv.words, port);
    this.handlers[port] = undefined;
  }

  /** Forget an event that may be pending already (Mini-OS clear_evtchn). */
  clear(port: number): void {
    clearEvent(this.hv.words, port);
  }

  /** Is an upcall due? */
  pending(): boolean {
    return Atomics.load(this.hv.words, this.upcallPending) !== 0;
  }

  /**
   * The upcall handler (Mini-OS do_hypervisor_callback): clear
   * upcall_pending, swap the selector out, and for each selected word handle
   * pending & ~mask, clearing each port's pending bit before its handler runs.
   */
  upcall(): number {
    const w = this.hv.words;
    let n = 0;
    Atomics.store(w, this.upcallPending, 0);
    let sel = Atomics.exchange(w, this.pendingSel, 0);
    while (sel !== 0) {
      const i = 31 - Math.clz32(sel & -sel);
      sel &= ~(1 << i);
      const base = i * EVTCHN_WORD_BITS;
      let bits = Atomics.load(w, pendingWord(base)) & ~Atomics.load(w, maskWord(base));
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= ~(1 << b);
        const port = base + b;
        clearEvent(w, port);
        n++;
        this.handlers[port]?.(port);
      }
    }
    this.handled += n;
    return n;
  }
}
