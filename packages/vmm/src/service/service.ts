// The hypervisor service: every domain's mailboxes, timers and event
// channels, served from one thread. One pass looks at each live vCPU's
// mailbox once and serves at most one trap from it, so a busy guest gets one
// call per pass like everyone else (round robin; no call runs unbounded).
import {
  DOMAIN_COUNTER,
  ERRNO,
  hostClockMs,
  MAILBOX,
  MAILBOX_STATE,
  MAX_HYPERCALL_ARGS,
  mailboxAnswer,
  mailboxArg,
  NR_HYPERCALLS,
  PORT_COUNTER,
  RAISE,
  raiseEvent,
  SERVICE_COUNTER,
  TraceRing,
  VCPU_RUNSTATE,
  VIRQ,
} from '@pvkit/hypercall';
import { closePort } from './calls/evtchn.ts';
import type { Handler, ServiceContext } from './context.ts';
import { CALL_NAMES, hypercallTable } from './dispatch.ts';
import { ServiceDomain } from './domain.ts';
import type { FromService, ToService } from './protocol.ts';

export class Service implements ServiceContext {
  readonly timeBaseMs: number;
  readonly counters: Float64Array;
  /** Earliest armed timer of a running domain (host ms), Infinity if none. */
  nextTimerMs = Infinity;
  private readonly domains = new Map<number, ServiceDomain>();
  /** Live domains in scan order. */
  private live: ServiceDomain[] = [];
  private readonly table: Handler[] = hypercallTable();
  private readonly args = new Float64Array(MAX_HYPERCALL_ARGS);
  private trace: TraceRing | null = null;
  private readonly post: (m: FromService) => void;

  constructor(timeBaseMs: number, counters: Float64Array, post: (m: FromService) => void) {
    this.timeBaseMs = timeBaseMs;
    this.counters = counters;
    this.post = post;
  }

  domain(domid: number): ServiceDomain | undefined {
    return this.domains.get(domid);
  }

  raise(d: ServiceDomain, port: number): void {
    const r = raiseEvent(d.words, port);
    if (r === RAISE.delivered || r === RAISE.masked) {
      d.counters[DOMAIN_COUNTER.events_delivered] += 1;
      d.countPort(port, PORT_COUNTER.deliveries);
    }
  }

  setTimer(d: ServiceDomain, deadlineMs: number): void {
    d.timerMs = deadlineMs;
    this.recomputeTimers();
  }

  dispatch(d: ServiceDomain, vcpu: number, nr: number, args: Float64Array): number {
    if (!(nr >= 0 && nr < NR_HYPERCALLS)) return -ERRNO.ENOSYS;
    d.counters[DOMAIN_COUNTER.multicall_entries] += 1;
    d.countCall(nr, 0);
    return this.table[nr](this, d, vcpu, args);
  }

  shutdown(d: ServiceDomain, reason: number, code: number): void {
    this.teardown(d);
    this.post({ t: 'shutdown', domid: d.domid, reason, code });
  }

  crash(d: ServiceDomain, detail: string): void {
    this.teardown(d);
    this.post({ t: 'crash', domid: d.domid, detail });
  }

  // ---- The hot path ---------------------------------------------------------

  /**
   * Serve at most one trap per live vCPU. `now` is the host clock at the
   * start of the pass; returns the clock after the last answer, or 0 if
   * nothing was served (one clock read per trap, off the guest's critical path).
   */
  scan(now: number): number {
    let t = 0;
    const live = this.live;
    for (let i = 0; i < live.length; i++) {
      const d = live[i];
      if (d.paused) continue;
      const boxes = d.mailboxes;
      for (let v = 0; v < boxes.length; v++) {
        const s = Atomics.load(boxes[v], MAILBOX.state);
        if (s === MAILBOX_STATE.request) {
          t = this.serve(d, v, boxes[v], t || now);
          if (d.dead) break;
        } else if (s !== MAILBOX_STATE.done && s !== MAILBOX_STATE.idle) {
          this.crash(d, `vCPU ${v} broke the ABI: mailbox state ${s}`);
          break;
        }
      }
    }
    if (t) this.counters[SERVICE_COUNTER.served] += 1;
    return t;
  }

  private serve(d: ServiceDomain, v: number, m: Int32Array, start: number): number {
    const nr = m[MAILBOX.nr];
    const a = this.args;
    for (let k = 0; k < MAX_HYPERCALL_ARGS; k++) a[k] = mailboxArg(m, k);
    const known = nr >= 0 && nr < NR_HYPERCALLS;
    d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.running; // block/poll say otherwise
    let r: number;
    try {
      r = known ? this.table[nr](this, d, v, a) : -ERRNO.ENOSYS;
    } catch (e) {
      // A VMM bug must not take other domains down: this one crashes, loudly.
      const name = CALL_NAMES.get(nr) ?? `#${nr}`;
      this.crash(d, `VMM error in ${name}: ${e instanceof Error ? e.message : String(e)}`);
      return hostClockMs();
    }
    if (d.dead) return hostClockMs(); // shut down in this call: no answer
    mailboxAnswer(m, r);
    const end = hostClockMs();
    const ns = (end - start) * 1e6;
    const c = d.counters;
    c[DOMAIN_COUNTER.hypercalls] += 1;
    c[DOMAIN_COUNTER.last_trap_ms] = end;
    if (known) d.countCall(nr, ns);
    if (this.trace !== null) this.record(d, v, nr, a[0], r, start, ns);
    return end;
  }

  private record(
    d: ServiceDomain,
    v: number,
    nr: number,
    a0: number,
    r: number,
    at: number,
    ns: number,
  ) {
    this.trace?.push({
      timeNs: d.systemTimeNs(this.timeBaseMs, at),
      domid: d.domid,
      vcpu: v,
      nr,
      arg0: a0 >>> 0,
      result: r,
      durationNs: ns,
    });
  }

  /** Is any live vCPU waiting for an answer? (checked once more before sleeping) */
  anyRequest(): boolean {
    for (const d of this.live) {
      if (d.paused) continue;
      for (const m of d.mailboxes)
        if (Atomics.load(m, MAILBOX.state) === MAILBOX_STATE.request) return true;
    }
    return false;
  }

  /** Tell every vCPU whether to ring the doorbell after publishing a trap. */
  setSleeping(on: boolean): void {
    for (const d of this.live)
      for (const m of d.mailboxes) Atomics.store(m, MAILBOX.svc_sleeping, on ? 1 : 0);
  }

  // ---- Timers ---------------------------------------------------------------

  fireTimers(now: number): void {
    for (const d of this.live) {
      if (d.paused || d.timerMs === 0 || d.timerMs > now) continue;
      d.timerMs = 0;
      d.counters[DOMAIN_COUNTER.timer_fires] += 1;
      d.counters[DOMAIN_COUNTER.timer_deadline_ns] = 0;
      const port = d.virqPorts[VIRQ.timer];
      if (port !== 0) this.raise(d, port);
    }
    this.recomputeTimers();
  }

  private recomputeTimers(): void {
    let next = Infinity;
    let armed = 0;
    for (const d of this.live) {
      if (d.timerMs === 0) continue;
      armed++;
      if (!d.paused && d.timerMs < next) next = d.timerMs;
    }
    this.nextTimerMs = next;
    this.counters[SERVICE_COUNTER.timers_armed] = armed;
  }

  // ---- Control from the toolstack -------------------------------------------

  control(msg: ToService): void {
    this.counters[SERVICE_COUNTER.control] += 1;
    switch (msg.t) {
      case 'create': {
        const setup = msg.setup;
        const d = new ServiceDomain(setup, (line) =>
          this.post({ t: 'console', domid: setup.domid, line }),
        );
        this.domains.set(d.domid, d);
        this.live = [...this.domains.values()];
        this.counters[SERVICE_COUNTER.domains] = this.domains.size;
        return;
      }
      case 'destroy': {
        const d = this.domains.get(msg.domid);
        if (d) this.teardown(d);
        this.post({ t: 'ack', id: msg.id, ok: true });
        return;
      }
      case 'pause':
      case 'unpause': {
        const d = this.domains.get(msg.domid);
        if (d) {
          d.paused = msg.t === 'pause';
          d.counters[DOMAIN_COUNTER.vcpu_state] = d.paused
            ? VCPU_RUNSTATE.paused
            : VCPU_RUNSTATE.running;
          this.recomputeTimers();
        }
        this.post({ t: 'ack', id: msg.id, ok: d !== undefined });
        return;
      }
      case 'virq': {
        const d = this.domains.get(msg.domid);
        const port = d?.virqPorts[msg.virq];
        if (d && port) this.raise(d, port);
        return;
      }
      case 'console-in':
        this.domains.get(msg.domid)?.consoleIn.push(msg.bytes);
        return;
      case 'trace':
        this.trace = msg.ring ? new TraceRing(msg.ring) : null;
        this.post({ t: 'ack', id: msg.id, ok: true });
        return;
      case 'stop':
        return;
    }
  }

  /** Release everything the service holds for `d`: timer, ports, console. */
  private teardown(d: ServiceDomain): void {
    if (d.dead) return;
    d.dead = true;
    for (const port of d.ports.inUse()) closePort(this, d, port);
    d.timerMs = 0;
    d.consoleFlush();
    d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.down;
    d.counters[DOMAIN_COUNTER.timer_deadline_ns] = 0;
    this.domains.delete(d.domid);
    this.live = [...this.domains.values()];
    this.counters[SERVICE_COUNTER.domains] = this.domains.size;
    this.recomputeTimers();
  }
}
