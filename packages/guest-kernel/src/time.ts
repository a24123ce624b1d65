// Time (Mini-OS time.c): the domain's system time from vcpu_time_info, and
// the kernel's timer list. The VMM has one one-shot timer per vCPU; the
// kernel multiplexes its timers onto it: before blocking, the scheduler arms
// it with the earliest deadline, and VIRQ_TIMER wakes the vCPU.
import { readTimeInfo, systemTimeNs, type TimeInfo, VIRQ } from '@pvkit/hypercall';
import { type Hypervisor, must } from './arch/hypervisor.ts';
import type { Events } from './events.ts';

export interface Timer {
  deadlineNs: number;
  fire: () => void;
  cancelled: boolean;
}

export class Time {
  declare private readonly info: TimeInfo;
  /** Pending timers, earliest first. */
  private readonly timers: Timer[] = [];
  declare readonly timerPort: number;
  /** VIRQ_TIMER deliveries. */
  ticks = 0;

  /** init_time: register the time area, read it, bind VIRQ_TIMER. */
  constructor(hv: Hypervisor, events: Events, timeAreaGpa: number) {
    must('vcpu_op(register_vcpu_time_memory_area)', hv.registerTimeArea(timeAreaGpa));
    this.info = readTimeInfo(hv.memory, timeAreaGpa);
    this.timerPort = must('bind VIRQ_TIMER', hv.bindVirq(VIRQ.timer));
    events.bind(this.timerPort, () => {
      this.ticks++;
    });
  }

  /** System time, ns. */
  nowNs(): number {
    return systemTimeNs(this.info);
  }

  /** Call `fire` at or after `deadlineNs` (from the scheduler loop, never early). */
  add(deadlineNs: number, fire: () => void): Timer {
    const t: Timer = { deadlineNs, fire, cancelled: false };
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timers[mid].deadlineNs <= deadlineNs) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, t);
    return t;
  }

  cancel(t: Timer): void {
    t.cancelled = true;
  }

  /** Earliest live deadline, or 0 when no timer is pending (0 cancels the VMM timer). */
  nextDeadline(): number {
    while (this.timers.length > 0 && this.timers[0].cancelled) this.timers.shift();
    return this.timers.length > 0 ? this.timers[0].deadlineNs : 0;
  }

  /** Fire every timer whose deadline has passed; returns how many fired. */
  runExpired(): number {
    let n = 0;
    const now = this.nowNs();
    while (this.timers.length > 0 && this.timers[0].deadlineNs <= now) {
      const t = this.timers.shift() as Timer;
      if (t.cancelled) continue;
      n++;
      t.fire();
    }
    return n;
  }
}
