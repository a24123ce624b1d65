// event_channel_op: ports between domains (interdomain), from the VMM
// (virq), and to oneself (ipi). Xen's xen/common/event_channel.c, minus
// what pvkit has no use for. Fresh ports start masked; the guest unmasks.
import {
  clearEvent,
  DOMID_MAX,
  DOMID_SELF,
  ERRNO,
  EVTCHN_STATUS,
  EVTCHN_STATUS_SIZE,
  EVTCHNOP,
  EVTCHNSTAT,
  maskEvent,
  NR_EVENT_CHANNELS,
  NR_VIRQS,
  PORT_COUNTER,
  raiseEvent,
  unmaskEvent,
} from '@pvkit/hypercall';
import type { Handler, ServiceContext } from '../context.ts';
import type { ServiceDomain } from '../domain.ts';
import { EventChannelTable } from '../evtchn-table.ts';

/** A new port: allocated, masked, not pending. */
function fresh(d: ServiceDomain, state: number, vcpu = 0): number {
  const port = d.ports.allocate(state, vcpu);
  if (port === 0) return -ERRNO.ENOSPC;
  maskEvent(d.words, port);
  clearEvent(d.words, port);
  return port;
}

function domidArg(d: ServiceDomain, x: number): number {
  return x === DOMID_SELF ? d.domid : x;
}

function allocUnbound(d: ServiceDomain, remote: number): number {
  if (!Number.isInteger(remote) || remote < 0 || remote > DOMID_MAX) return -ERRNO.EINVAL;
  const port = fresh(d, EVTCHNSTAT.unbound);
  if (port > 0) d.ports.remoteDom[port] = remote;
  return port;
}

function bindInterdomain(svc: ServiceContext, d: ServiceDomain, rdom: number, rport: number) {
  const rd = svc.domain(rdom);
  if (!rd) return -ERRNO.ESRCH;
  const rt = rd.ports;
  if (!rt.bound(rport) || rt.state[rport] !== EVTCHNSTAT.unbound || rt.remoteDom[rport] !== d.domid)
    return -ERRNO.EINVAL;
  const port = fresh(d, EVTCHNSTAT.interdomain);
  if (port < 0) return port;
  d.ports.remoteDom[port] = rd.domid;
  d.ports.remotePort[port] = rport;
  rt.state[rport] = EVTCHNSTAT.interdomain;
  rt.remotePort[rport] = port;
  // Xen marks the binder's port pending in case the peer signalled already.
  raiseEvent(d.words, port);
  return port;
}

function bindVirq(d: ServiceDomain, virq: number, vcpu: number): number {
  if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return -ERRNO.EINVAL;
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.nrVcpus) return -ERRNO.ENOENT;
  if (d.virqPorts[virq] !== 0) return -ERRNO.EEXIST;
  const port = fresh(d, EVTCHNSTAT.virq, vcpu);
  if (port < 0) return port;
  d.ports.virq[port] = virq;
  d.virqPorts[virq] = port;
  return port;
}

/**
 * Close `port` of `d`; an interdomain peer's port goes back to unbound (Xen),
 * marked as pointing at a dead domain when `d` is being torn down.
 */
export function closePort(
  svc: ServiceContext,
  d: ServiceDomain,
  port: number,
  dying = false,
): number {
  const t = d.ports;
  if (!t.bound(port)) return -ERRNO.EINVAL;
  if (t.state[port] === EVTCHNSTAT.interdomain) {
    const rd = svc.domain(t.remoteDom[port]);
    const rport = t.remotePort[port];
    if (
      rd &&
      rd.ports.state[rport] === EVTCHNSTAT.interdomain &&
      rd.ports.remotePort[rport] === port
    ) {
      rd.ports.state[rport] = EVTCHNSTAT.unbound;
      rd.ports.remotePort[rport] = 0;
      rd.ports.remoteGone[rport] = dying ? 1 : 0;
    }
  } else if (t.state[port] === EVTCHNSTAT.virq) {
    d.virqPorts[t.virq[port]] = 0;
  }
  t.free(port);
  maskEvent(d.words, port);
  clearEvent(d.words, port);
  return 0;
}

/**
 * A domain ends: close all its ports, and mark the ports other domains
 * offered it and it never bound, so that their sends fail from now on.
 */
export function closeAllPorts(
  svc: ServiceContext,
  d: ServiceDomain,
  others: readonly ServiceDomain[],
): void {
  for (const port of d.ports.inUse()) closePort(svc, d, port, true);
  for (const other of others) {
    if (other === d) continue;
    const t = other.ports;
    for (let p = 1; p < NR_EVENT_CHANNELS; p++)
      if (t.state[p] === EVTCHNSTAT.unbound && t.remoteDom[p] === d.domid) t.remoteGone[p] = 1;
  }
}

function send(svc: ServiceContext, d: ServiceDomain, port: number): number {
  const t = d.ports;
  if (!t.bound(port)) return -ERRNO.EINVAL;
  switch (t.state[port]) {
    case EVTCHNSTAT.interdomain: {
      d.countPort(port, PORT_COUNTER.sends);
      const rd = svc.domain(t.remoteDom[port]);
      if (rd) svc.raise(rd, t.remotePort[port]);
      return 0;
    }
    case EVTCHNSTAT.ipi:
      d.countPort(port, PORT_COUNTER.sends);
      svc.raise(d, port);
      return 0;
    case EVTCHNSTAT.unbound:
      // The peer has ended: say so (Xen drops it silently; a dead peer is worth an error).
      if (t.remoteGone[port] !== 0) return -ERRNO.ESRCH;
      d.countPort(port, PORT_COUNTER.sends);
      return 0; // nobody listens yet: dropped, as in Xen
    default:
      return -ERRNO.EINVAL;
  }
}

/**
 * status(dom, port, gpa). A domain sees its own ports; of another domain it
 * sees only a port that domain offered to it (unbound, remote = caller): that
 * is how two pvkit guests find each other without a xenstore.
 */
function status(svc: ServiceContext, d: ServiceDomain, dom: number, port: number, gpa: number) {
  const target = dom === d.domid ? d : svc.domain(dom);
  if (!target) return -ERRNO.ESRCH;
  if (!EventChannelTable.valid(port)) return -ERRNO.EINVAL;
  const t = target.ports;
  if (target !== d && !(t.state[port] === EVTCHNSTAT.unbound && t.remoteDom[port] === d.domid))
    return -ERRNO.EPERM;
  if (!d.inRange(gpa, EVTCHN_STATUS_SIZE)) return -ERRNO.EFAULT;
  const st = t.state[port];
  const a = st === EVTCHNSTAT.virq ? t.virq[port] : t.remoteDom[port];
  const b = st === EVTCHNSTAT.interdomain ? t.remotePort[port] : 0;
  d.dv.setUint32(gpa + EVTCHN_STATUS.status, st, true);
  d.dv.setUint32(gpa + EVTCHN_STATUS.vcpu, t.vcpu[port], true);
  d.dv.setUint32(gpa + EVTCHN_STATUS.a, a, true);
  d.dv.setUint32(gpa + EVTCHN_STATUS.b, b, true);
  return 0;
}

export const eventChannelOp: Handler = (svc, d, _vcpu, a) => {
  switch (a[0]) {
    case EVTCHNOP.alloc_unbound:
      return allocUnbound(d, domidArg(d, a[1]));
    case EVTCHNOP.bind_interdomain:
      return bindInterdomain(svc, d, domidArg(d, a[1]), a[2]);
    case EVTCHNOP.bind_virq:
      return bindVirq(d, a[1], a[2]);
    case EVTCHNOP.bind_ipi: {
      if (!Number.isInteger(a[1]) || a[1] < 0 || a[1] >= d.nrVcpus) return -ERRNO.ENOENT;
      return fresh(d, EVTCHNSTAT.ipi, a[1]);
    }
    case EVTCHNOP.close:
      return closePort(svc, d, a[1]);
    case EVTCHNOP.send:
      return send(svc, d, a[1]);
    case EVTCHNOP.status:
      return status(svc, d, domidArg(d, a[1]), a[2], a[3]);
    case EVTCHNOP.unmask:
      if (!EventChannelTable.valid(a[1])) return -ERRNO.EINVAL;
      unmaskEvent(d.words, a[1]);
      return 0;
    default:
      return -ERRNO.EINVAL;
  }
};
