// The toolstack's watchdog (the domain config's "watchdog": "10s"): a vCPU
// that neither traps nor waits for that long is taken to spin and its
// domain is destroyed. It reads what is already there, on a timer of the
// main thread: the trap counter the service keeps, and the two words of
// vcpu_info a waiting vCPU leaves behind (upcalls unmasked while it sleeps
// in sched_op(block) or on a device interrupt, `polling` in sched_op(poll)).
// Nothing is added to the hypercall path.
import { DOMAIN_COUNTER, VCPU_INFO, vcpuInfoWord } from '@pvkit/hypercall';
import { formatDuration } from '../config/duration.ts';
import type { Domain } from './domain.ts';

/** Looks per limit: the domain is destroyed between limit and limit × 1.25 after its last sign. */
const LOOKS_PER_LIMIT = 4;
/** Until its first trap a vCPU is still loading its kernel (slow on a loaded host): this much more. */
export const WATCHDOG_BOOT_GRACE_MS = 5000;

/** Watch `dom`'s vCPU 0; `expire` runs once when it has spun for `limitMs`. Returns a stop function. */
export function watchVcpu(dom: Domain, limitMs: number, expire: (detail: string) => void) {
  const counters = dom.counters;
  const words = new Int32Array(dom.memory);
  const mask = vcpuInfoWord(0, VCPU_INFO.evtchn_upcall_mask);
  const polling = vcpuInfoWord(0, VCPU_INFO.polling);
  let traps = counters[DOMAIN_COUNTER.hypercalls];
  let lastSign = performance.now();
  let limit = limitMs + WATCHDOG_BOOT_GRACE_MS;
  const timer = setInterval(
    () => {
      const now = performance.now();
      const t = counters[DOMAIN_COUNTER.hypercalls];
      const waiting = Atomics.load(words, mask) === 0 || Atomics.load(words, polling) !== 0;
      if (t !== traps || waiting || dom.state === 'paused') {
        if (t !== 0) limit = limitMs;
        traps = t;
        lastSign = now;
      } else if (now - lastSign >= limit) {
        clearInterval(timer);
        expire(`vCPU 0 neither trapped nor waited for ${formatDuration(limitMs)} (watchdog)`);
      }
    },
    Math.max(5, limitMs / LOOKS_PER_LIMIT),
  );
  return () => clearInterval(timer);
}
