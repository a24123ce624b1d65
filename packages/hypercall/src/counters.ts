// Counters the hypervisor service keeps and the toolstack reads with no
// message (`pvkit stat`): one Float64Array per domain, one for the service.
// The service is the only writer; readers get a racy but never torn-in-value
// snapshot (aligned f64 stores), which is what xentop shows too.
import { NR_EVENT_CHANNELS } from './layout.ts';
import { NR_HYPERCALLS } from './numbers.ts';

/** Per-domain slots (f64 indices). */
export const DOMAIN_COUNTER = {
  hypercalls: 0,
  multicall_entries: 1,
  timer_fires: 2,
  /** Events the VMM raised into this domain that became newly pending. */
  events_delivered: 3,
  blocks: 4,
  polls: 5,
  console_bytes: 6,
  /** VCPU_RUNSTATE.* of vCPU 0 as the service last saw it. */
  vcpu_state: 7,
  /** Host clock (ms) of the last trap. */
  last_trap_ms: 8,
  /** Timer armed: deadline in ns of system time, 0 when none. */
  timer_deadline_ns: 9,
} as const;
export const DOMAIN_COUNTER_SLOTS = 16;

export const VCPU_RUNSTATE = { running: 0, blocked: 1, paused: 2, down: 3 } as const;

/**
 * Per call number: count, total ns, max ns; from CALL_COUNTER_BASE + 3 * nr.
 * Time is service time from one clock read to the next: traps a guest makes
 * back to back (up to 16) share one interval equally, so the total is exact
 * and the max is the largest such share (a trace has each trap's own).
 */
export const CALL_COUNTER = { count: 0, total_ns: 1, max_ns: 2 } as const;
export const CALL_COUNTER_BASE = DOMAIN_COUNTER_SLOTS;
export const CALL_COUNTER_STRIDE = 3;

/** Per event channel port: sends (by this domain) and deliveries (into it). */
export const PORT_COUNTER = { sends: 0, deliveries: 1 } as const;
export const PORT_COUNTER_BASE = CALL_COUNTER_BASE + CALL_COUNTER_STRIDE * NR_HYPERCALLS;
export const PORT_COUNTER_STRIDE = 2;

export const DOMAIN_COUNTERS_BYTES =
  (PORT_COUNTER_BASE + PORT_COUNTER_STRIDE * NR_EVENT_CHANNELS) * Float64Array.BYTES_PER_ELEMENT;

/** Service-wide slots (f64 indices). */
export const SERVICE_COUNTER = {
  domains: 0,
  timers_armed: 1,
  passes: 2,
  sleeps: 3,
  wakeups: 4,
  served: 5,
  /** Control messages handled. */
  control: 6,
} as const;
export const SERVICE_COUNTERS_BYTES = 16 * Float64Array.BYTES_PER_ELEMENT;

export interface CallStats {
  nr: number;
  count: number;
  totalNs: number;
  maxNs: number;
}

export interface PortStats {
  port: number;
  sends: number;
  deliveries: number;
}

/** Calls with a non-zero count, by number. */
export function readCallStats(c: Float64Array): CallStats[] {
  const out: CallStats[] = [];
  for (let nr = 0; nr < NR_HYPERCALLS; nr++) {
    const b = CALL_COUNTER_BASE + CALL_COUNTER_STRIDE * nr;
    if (c[b + CALL_COUNTER.count] === 0) continue;
    out.push({
      nr,
      count: c[b + CALL_COUNTER.count],
      totalNs: c[b + CALL_COUNTER.total_ns],
      maxNs: c[b + CALL_COUNTER.max_ns],
    });
  }
  return out;
}

/** Ports with a send or a delivery, by number. */
export function readPortStats(c: Float64Array): PortStats[] {
  const out: PortStats[] = [];
  for (let port = 1; port < NR_EVENT_CHANNELS; port++) {
    const b = PORT_COUNTER_BASE + PORT_COUNTER_STRIDE * port;
    const sends = c[b + PORT_COUNTER.sends];
    const deliveries = c[b + PORT_COUNTER.deliveries];
    if (sends || deliveries) out.push({ port, sends, deliveries });
  }
  return out;
}
