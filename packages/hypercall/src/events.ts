// Event delivery, Xen 2-level semantics, straight in a domain's shared_info.
// This is the ONE place that raises an event: the hypervisor service uses it
// for VIRQs and interdomain sends, device backends use it for queue
// interrupts from their own threads, with nothing but the guest's memory.
// Every word it touches is guest-writable: a guest that scribbles on its own
// shared_info can only lose its own events.
import { maskWord, NR_EVENT_CHANNELS, pendingWord, VCPU_INFO, vcpuInfoWord } from './layout.ts';

/** What raiseEvent did. */
export const RAISE = {
  /** The port was pending already: nothing new to deliver (events coalesce). */
  already_pending: 0,
  /** Newly pending but masked: found again on unmask. */
  masked: 1,
  /** Newly pending and unmasked: the selector bit and upcall_pending are set. */
  delivered: 2,
  /** Not a port number (0 and >= NR_EVENT_CHANNELS are not ports). */
  bad_port: -1,
} as const;
export type RaiseOutcome = (typeof RAISE)[keyof typeof RAISE];

/** Wake a vCPU that sleeps in sched_op(block) or sched_op(poll). */
export function kickVcpu(guest: Int32Array, vcpu = 0): void {
  const w = vcpuInfoWord(vcpu, VCPU_INFO.wake);
  Atomics.add(guest, w, 1);
  Atomics.notify(guest, w);
}

function markEventsPending(guest: Int32Array, port: number, vcpu: number): void {
  const sel = vcpuInfoWord(vcpu, VCPU_INFO.evtchn_pending_sel);
  const selBit = 1 << (port >>> 5);
  if (Atomics.or(guest, sel, selBit) & selBit) return;
  if (Atomics.exchange(guest, vcpuInfoWord(vcpu, VCPU_INFO.evtchn_upcall_pending), 1) !== 0) return;
  if (Atomics.load(guest, vcpuInfoWord(vcpu, VCPU_INFO.evtchn_upcall_mask)) === 0)
    kickVcpu(guest, vcpu);
}

/**
 * Raise event channel `port` in the domain whose guest memory `guest` views
 * (an Int32Array over the whole guest SharedArrayBuffer). Xen's
 * evtchn_2l_set_pending: set the pending bit; if it was clear and the port is
 * unmasked, set the selector bit and upcall_pending, and wake the vCPU unless
 * its upcall_mask is set. A vCPU in sched_op(poll) is woken by any newly
 * pending port, masked or not. Safe from any thread that holds the memory.
 */
export function raiseEvent(guest: Int32Array, port: number, vcpu = 0): RaiseOutcome {
  if (!Number.isInteger(port) || port <= 0 || port >= NR_EVENT_CHANNELS) return RAISE.bad_port;
  const bit = 1 << (port & 31);
  if (Atomics.or(guest, pendingWord(port), bit) & bit) return RAISE.already_pending;
  let outcome: RaiseOutcome = RAISE.masked;
  if ((Atomics.load(guest, maskWord(port)) & bit) === 0) {
    markEventsPending(guest, port, vcpu);
    outcome = RAISE.delivered;
  }
  if (Atomics.load(guest, vcpuInfoWord(vcpu, VCPU_INFO.polling)) !== 0) kickVcpu(guest, vcpu);
  return outcome;
}

/**
 * Unmask `port` (Xen's evtchn_2l_unmask): clear the mask bit; if the port is
 * pending, deliver it now as raiseEvent would have. Returns true if it did.
 */
export function unmaskEvent(guest: Int32Array, port: number, vcpu = 0): boolean {
  if (!Number.isInteger(port) || port <= 0 || port >= NR_EVENT_CHANNELS) return false;
  const bit = 1 << (port & 31);
  if ((Atomics.and(guest, maskWord(port), ~bit) & bit) === 0) return false;
  if ((Atomics.load(guest, pendingWord(port)) & bit) === 0) return false;
  markEventsPending(guest, port, vcpu);
  return true;
}

/** Mask `port` (a guest does this itself: a plain atomic write, no trap). */
export function maskEvent(guest: Int32Array, port: number): void {
  Atomics.or(guest, maskWord(port), 1 << (port & 31));
}

/** Clear `port`'s pending bit; true if it was pending. */
export function clearEvent(guest: Int32Array, port: number): boolean {
  const bit = 1 << (port & 31);
  return (Atomics.and(guest, pendingWord(port), ~bit) & bit) !== 0;
}

/** Is `port` pending? */
export function isEventPending(guest: Int32Array, port: number): boolean {
  return (Atomics.load(guest, pendingWord(port)) & (1 << (port & 31))) !== 0;
}
