// The guest half of sched_op(block) and sched_op(poll). In Xen the vCPU
// sleeps inside the hypervisor; in pvkit the service must never stop for one
// guest, so the trap does the hypervisor's part (clear upcall_mask, note the
// vCPU as blocked, check what is pending) and the vCPU then sleeps on its own
// wake word in shared_info, which raiseEvent bumps and notifies.
import { isEventPending } from './events.ts';
import { VCPU_INFO, vcpuInfoWord } from './layout.ts';
import type { Hypercall } from './mailbox.ts';
import { HYPERVISOR, SCHEDOP, SCHEDOP_POLL_WAIT } from './numbers.ts';

/**
 * sched_op(block), then sleep until an event is delivered (upcall_pending).
 * Pass a timeout only as a safety net: the VMM's timer (set_timer_op) is
 * what wakes a blocked vCPU on time. Returns 0 or the trap's -errno.
 */
export function schedBlock(
  hc: Hypercall,
  guest: Int32Array,
  vcpu = 0,
  timeoutMs = Infinity,
): number {
  const wake = vcpuInfoWord(vcpu, VCPU_INFO.wake);
  const seen = Atomics.load(guest, wake);
  const r = hc(HYPERVISOR.sched_op, SCHEDOP.block);
  if (r < 0) return r;
  if (Atomics.load(guest, vcpuInfoWord(vcpu, VCPU_INFO.evtchn_upcall_pending)) === 0)
    Atomics.wait(guest, wake, seen, timeoutMs);
  return 0;
}

/**
 * sched_op(poll): wait until one of `ports` (nr u32 at portsGpa, written by
 * the caller) is pending, or the system time reaches `deadlineNs` (0: no
 * timeout). Works with events masked. `nowNs` reads the domain's system time.
 * Returns 0 (an event or the timeout) or -errno.
 */
export function schedPoll(
  hc: Hypercall,
  guest: Int32Array,
  ports: readonly number[],
  portsGpa: number,
  deadlineNs: number,
  nowNs: () => number,
  vcpu = 0,
): number {
  const wake = vcpuInfoWord(vcpu, VCPU_INFO.wake);
  let seen = Atomics.load(guest, wake);
  const r = hc(HYPERVISOR.sched_op, SCHEDOP.poll, portsGpa, ports.length, deadlineNs);
  if (r !== SCHEDOP_POLL_WAIT) return r;
  for (;;) {
    if (ports.some((p) => isEventPending(guest, p))) break;
    const left = deadlineNs === 0 ? Infinity : (deadlineNs - nowNs()) / 1e6;
    if (left <= 0) break;
    Atomics.wait(guest, wake, seen, left);
    seen = Atomics.load(guest, wake);
  }
  Atomics.store(guest, vcpuInfoWord(vcpu, VCPU_INFO.polling), 0);
  return 0;
}
