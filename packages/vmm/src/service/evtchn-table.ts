// The VMM's own record of a domain's event channels (Xen's struct evtchn):
// what each port is bound to. It lives in the service, out of the guest's
// reach; only the pending/mask bits live in shared_info.
import { EVTCHNSTAT, NR_EVENT_CHANNELS } from '@pvkit/hypercall';

export class EventChannelTable {
  /** EVTCHNSTAT.* per port; closed = free. Port 0 is never allocated (Xen). */
  readonly state = new Uint8Array(NR_EVENT_CHANNELS);
  /** unbound/interdomain: the remote domid. */
  readonly remoteDom = new Int32Array(NR_EVENT_CHANNELS);
  /** interdomain: the remote port. */
  readonly remotePort = new Int32Array(NR_EVENT_CHANNELS);
  /** unbound: 1 once the remote domain has ended (a send then fails with -ESRCH). */
  readonly remoteGone = new Uint8Array(NR_EVENT_CHANNELS);
  /** virq: the VIRQ number. */
  readonly virq = new Int32Array(NR_EVENT_CHANNELS);
  readonly vcpu = new Int32Array(NR_EVENT_CHANNELS);

  /** Is `port` a number the guest may name (bound or not)? */
  static valid(port: number): boolean {
    return Number.isInteger(port) && port > 0 && port < NR_EVENT_CHANNELS;
  }

  /** Is `port` valid and in use? */
  bound(port: number): boolean {
    return EventChannelTable.valid(port) && this.state[port] !== EVTCHNSTAT.closed;
  }

  /** The lowest free port, or 0 if every port is taken. */
  allocate(state: number, vcpu = 0): number {
    for (let p = 1; p < NR_EVENT_CHANNELS; p++) {
      if (this.state[p] === EVTCHNSTAT.closed) {
        this.state[p] = state;
        this.remoteDom[p] = 0;
        this.remotePort[p] = 0;
        this.remoteGone[p] = 0;
        this.virq[p] = 0;
        this.vcpu[p] = vcpu;
        return p;
      }
    }
    return 0;
  }

  /** A device queue's port, bound at domain creation (EVTCHNSTAT.device). */
  bindDevice(port: number): void {
    if (!EventChannelTable.valid(port) || this.state[port] !== EVTCHNSTAT.closed)
      throw new RangeError(`device port ${port} is not free`);
    this.state[port] = EVTCHNSTAT.device;
  }

  free(port: number): void {
    this.state[port] = EVTCHNSTAT.closed;
  }

  /** Every port in use, for teardown. */
  *inUse(): Generator<number> {
    for (let p = 1; p < NR_EVENT_CHANNELS; p++) if (this.state[p] !== EVTCHNSTAT.closed) yield p;
  }
}
