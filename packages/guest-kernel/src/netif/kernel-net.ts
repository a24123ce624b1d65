// The kernel's network subsystem: one NetStack (src/net) per kernel, its
// NICs, and the three ways the kernel drives it (the stack's README
// contract): received frames go in from the NIC's rx interrupt, timers (ARP
// retries and ageing) run from the kernel's own timer list, re-armed after
// every call into the stack for stack.nextDeadline(), and tasks that wait on
// a socket park on the kernel's wait queues (./sockets.ts).
import type { Kernel } from '../kernel.ts';
import { type IpConfig, type NetInterface, type NetLink, NetStack } from '../net/index.ts';
import { BUSY } from '../sched.ts';
import type { Timer } from '../time.ts';

/** How recent traffic must be for the scheduler to poll before blocking. */
const BUSY_WINDOW_NS = 1e6;
/** Default ceiling of a socket receive's busy polling, µs (net.busypoll), and where it starts. */
const DEFAULT_BUSY_POLL_US = 250;
const BUSY_POLL_START_NS = 10_000;

/** What a NIC driver registers. */
export interface NetDevice {
  readonly name: string;
  readonly link: NetLink;
  /** Free tx slots now (reclaiming first). */
  txRoom(): number;
  /** Park until a tx slot is free. */
  waitTxRoom(): Promise<void>;
  /** Is a task parked in waitTxRoom()? (its wake-up is the tx interrupt) */
  txWaiting(): boolean;
  /** Driver-level counters, for `stats`. */
  counters(): Record<string, number>;
  /** Frames sent and received so far (the busy hint watches them move). */
  txFrames(): number;
  rxFrames(): number;
  /** Does the rx ring hold used buffers? (one load: for busy polling) */
  rxPending(): boolean;
  /** Take what the rx ring holds now, as the rx interrupt would. */
  pollRx(): number;
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
  declare readonly stack: NetStack;
  readonly nics: NetNic[] = [];
  declare private readonly kernel: Kernel;
  private timer: Timer | null = null;
  private timerAtMs = -1;
  /** Tasks parked on a socket right now (for the scheduler's busy hint). */
  waiters = 0;
  /** How long a receive polls the rx rings before parking now (adapts; see afterBlock). */
  busyPollNs = 0;
  /** Its ceiling (net.busypoll=µs; 0: never poll). */
  declare readonly maxBusyPollNs: number;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    const us = /(?:^|\s)net\.busypoll=(\d+)(?:\s|$)/.exec(kernel.info.cmdline)?.[1];
    this.maxBusyPollNs = (us === undefined ? DEFAULT_BUSY_POLL_US : Number(us)) * 1000;
    this.stack = new NetStack({ clock: { now: () => kernel.time.nowNs() / 1e6 } });
    // Poll a little before blocking while frames flow (halt polling): a
    // block and its wake-up cost more than the gap between two frames.
    // A sender parked for a tx slot waits for the tx interrupt: on the wake
    // word, without the trap of sched_op(block) (two thread wake-ups when
    // the hypervisor service sleeps, paid once per ring of frames).
    kernel.sched.addBusyHint(
      () => (this.busy() ? BUSY.soon : this.txWaiting() ? BUSY.event : BUSY.none),
      () => this.framesMoved(),
    );
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

  /**
   * Poll every NIC's rx ring until `done()` holds or the clock passes
   * `untilNs` (true: done). Frames found are taken as the rx interrupt
   * would take them, from this task: nothing else runs meanwhile.
   */
  busyPoll(untilNs: number, done: () => boolean): boolean {
    const nics = this.nics;
    const time = this.kernel.time;
    for (let i = 0; ; i++) {
      for (const n of nics) if (n.dev.rxPending() && n.dev.pollRx() > 0) this.rearm();
      if (done()) return true;
      if ((i & 63) === 0 && time.nowNs() >= untilNs) return false;
    }
  }

  /**
   * A receive parked for `ns` and was woken by data (`data`) or its
   * deadline. As KVM adapts halt polling: a wait longer than the window but
   * within the ceiling would have been caught by polling a little longer,
   * so the window grows; a longer one (or a timeout) means polling only
   * burns the core, so the window shrinks, to nothing in the end.
   */
  afterBlock(ns: number, data: boolean): void {
    const max = this.maxBusyPollNs;
    if (data && ns <= max) {
      if (ns > this.busyPollNs)
        this.busyPollNs = Math.min(max, Math.max(BUSY_POLL_START_NS, this.busyPollNs * 2));
    } else {
      this.busyPollNs = this.busyPollNs / 2 < BUSY_POLL_START_NS ? 0 : this.busyPollNs / 2;
    }
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

  /** A task waits for a tx slot on some NIC. */
  private txWaiting(): boolean {
    for (const n of this.nics) if (n.dev.txWaiting()) return true;
    return false;
  }

  /**
   * Expecting an event soon: frames arrived within the last ms (a stream is
   * flowing), or a task waits for the answer to a frame that just left and
   * its socket found polling worth it lately. Looked at when the vCPU is
   * about to block, so the clock is read there, not per frame.
   */
  /** Frames moved on every NIC: the scheduler's halt polling stops when this stands still. */
  private framesMoved(): number {
    let n = 0;
    for (const nic of this.nics) n += nic.dev.txFrames() + nic.dev.rxFrames();
    return n;
  }

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
      if (this.waiters > 0 && this.busyPollNs > 0 && now - n.txAt < BUSY_WINDOW_NS) busy = true;
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
