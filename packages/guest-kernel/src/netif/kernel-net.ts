// The kernel's network subsystem: one NetStack (src/net) per kernel, its
// NICs, and the three ways the kernel drives it (the stack's README
// contract): received frames go in from the NIC's rx interrupt, timers (ARP
// retries and ageing) run from the kernel's own timer list, re-armed after
// every call into the stack for stack.nextDeadline(), and tasks that wait on
// a socket park on the kernel's wait queues (./sockets.ts).
import type { Kernel } from '../kernel.ts';
import { type IpConfig, type NetInterface, type NetLink, NetStack } from '../net/index.ts';
import type { Timer } from '../time.ts';

/** How recent traffic must be for the scheduler to poll before blocking. */
const BUSY_WINDOW_NS = 1e6;

/** What a NIC driver registers. */
export interface NetDevice {
  readonly name: string;
  readonly link: NetLink;
  /** Free tx slots now (reclaiming first). */
  txRoom(): number;
  /** Park until a tx slot is free. */
  waitTxRoom(): Promise<void>;
  /** Driver-level counters, for `stats`. */
  counters(): Record<string, number>;
  /** Frames sent and received so far (the busy hint watches them move). */
  txFrames(): number;
  rxFrames(): number;
}

export interface NetNic {
  dev: NetDevice;
  /** The stack's interface, or null when the NIC has no address. */
  iface: NetInterface | null;
  /** The frame counts the busy hint last saw, and when they last moved (ns). */
  seenTx: number;
  seenRx: number;
  txAt: number;
  rxAt: number;
}

export class KernelNet {
  readonly stack: NetStack;
  readonly nics: NetNic[] = [];
  private readonly kernel: Kernel;
  private timer: Timer | null = null;
  private timerAtMs = -1;
  /** Tasks parked on a socket right now (for the scheduler's busy hint). */
  waiters = 0;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    this.stack = new NetStack({ clock: { now: () => kernel.time.nowNs() / 1e6 } });
    // Poll a little before blocking while frames flow (halt polling): a
    // block and its wake-up cost more than the gap between two frames.
    kernel.sched.addBusyHint(() => this.busy());
  }

  /** Register a NIC; with an address it becomes a stack interface (link state as given). */
  addNic(dev: NetDevice, ip: IpConfig | null, linkUp: boolean): NetNic {
    const iface = ip === null ? null : this.stack.addInterface(dev.link, { ip, name: dev.name });
    const nic = { dev, iface, seenTx: 0, seenRx: 0, txAt: 0, rxAt: 0 };
    this.nics.push(nic);
    iface?.setLinkUp(linkUp);
    this.rearm();
    return nic;
  }

  /** The NIC a packet to `dst` leaves by, or null. */
  nicFor(dst: number): NetNic | null {
    const iface = this.stack.route(dst);
    return this.nics.find((n) => n.iface === iface) ?? null;
  }

  /**
   * Arm the kernel timer for the stack's next deadline. Call after anything
   * that went into the stack (frames in, sends, socket calls).
   */
  rearm(): void {
    const next = this.stack.nextDeadline();
    if (next === this.timerAtMs) return;
    if (this.timer !== null) this.kernel.time.cancel(this.timer);
    this.timer = null;
    this.timerAtMs = next ?? -1;
    if (next === null) return;
    this.timer = this.kernel.time.add(Math.ceil(next * 1e6), () => {
      this.timer = null;
      this.timerAtMs = -1;
      this.stack.tick();
      this.rearm();
    });
  }

  /**
   * Expecting an event soon: frames arrived within the last ms (a stream is
   * flowing), or a task waits for the answer to a frame that just left.
   * Looked at when the vCPU is about to block, so the clock is read there,
   * not per frame.
   */
  private busy(): boolean {
    const now = this.kernel.time.nowNs();
    let busy = false;
    for (const n of this.nics) {
      const tx = n.dev.txFrames();
      const rx = n.dev.rxFrames();
      if (tx !== n.seenTx) {
        n.seenTx = tx;
        n.txAt = now;
      }
      if (rx !== n.seenRx) {
        n.seenRx = rx;
        n.rxAt = now;
      }
      if (now - n.rxAt < BUSY_WINDOW_NS) busy = true;
      if (this.waiters > 0 && now - n.txAt < BUSY_WINDOW_NS) busy = true;
    }
    return busy;
  }
}

const nets = new WeakMap<Kernel, KernelNet>();

/** The kernel's network subsystem (made on first use). */
export function kernelNet(kernel: Kernel): KernelNet {
  let n = nets.get(kernel);
  if (!n) {
    n = new KernelNet(kernel);
    nets.set(kernel, n);
  }
  return n;
}
