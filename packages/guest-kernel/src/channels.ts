// Interdomain event channels for apps: one side offers a port to a peer
// (alloc_unbound), the other finds the offer with event_channel_op(status)
// on the peer's ports (pvkit lets a domain see ports offered to it) and
// binds it (bind_interdomain). Without a xenstore, that is the rendezvous.
import { ERRNO, EVTCHN_STATUS, EVTCHNSTAT, NR_EVENT_CHANNELS } from '@pvkit/hypercall';
import { must } from './arch/hypervisor.ts';
import type { Kernel } from './kernel.ts';
import { WaitQueue } from './sched.ts';

export class Channel {
  declare readonly port: number;
  declare readonly remoteDom: number;
  declare private readonly kernel: Kernel;
  declare private readonly wq: WaitQueue;
  private received = 0;
  private consumed = 0;

  constructor(kernel: Kernel, port: number, remoteDom: number) {
    this.kernel = kernel;
    this.port = port;
    this.remoteDom = remoteDom;
    this.wq = new WaitQueue(kernel.sched);
    kernel.events.bind(port, () => {
      this.received++;
      this.wq.wakeAll();
    });
  }

  /**
   * Notify the peer. False once the peer domain has ended (the VMM answers
   * -ESRCH): that is the peer's fate, not a bug in this kernel, so the app
   * decides what to do rather than the domain crashing.
   */
  send(): boolean {
    const r = this.kernel.hv.send(this.port);
    if (r === -ERRNO.ESRCH) return false;
    must(`event_channel_op(send ${this.port})`, r);
    return true;
  }

  /** Park until an event arrives that no earlier wait() consumed (events coalesce). */
  async wait(): Promise<void> {
    await this.wq.waitUntil(() => this.received > this.consumed);
    this.consumed = this.received;
  }

  close(): void {
    this.kernel.events.unbind(this.port);
    must(`event_channel_op(close ${this.port})`, this.kernel.hv.close(this.port));
  }
}

/** Offer a port to domain `peer` and return it as a channel. */
export function listen(kernel: Kernel, peer: number): Channel {
  const port = must('event_channel_op(alloc_unbound)', kernel.hv.allocUnbound(peer));
  return new Channel(kernel, port, peer);
}

/** Find the port `peer` offered to us and bind it; retry until timeoutMs. */
export async function connect(kernel: Kernel, peer: number, timeoutMs: number): Promise<Channel> {
  const { hv, time, sched } = kernel;
  const statusGpa = kernel.mm.alloc(1);
  try {
    const until = time.nowNs() + timeoutMs * 1e6;
    for (;;) {
      for (let p = 1; p < NR_EVENT_CHANNELS; p++) {
        const r = hv.status(peer, p, statusGpa);
        if (r === -ERRNO.ESRCH) break; // the peer is not up yet
        if (r < 0) continue;
        if (hv.dv.getUint32(statusGpa + EVTCHN_STATUS.status, true) !== EVTCHNSTAT.unbound)
          continue;
        const port = must('event_channel_op(bind_interdomain)', hv.bindInterdomain(peer, p));
        // Xen marks a freshly bound port pending; that is not an event from the peer.
        kernel.events.clear(port);
        return new Channel(kernel, port, peer);
      }
      if (time.nowNs() > until)
        throw new Error(`no event channel offered by domain ${peer} in ${timeoutMs} ms`);
      await sched.sleep(1);
    }
  } finally {
    kernel.mm.release(statusGpa, 1);
  }
}
