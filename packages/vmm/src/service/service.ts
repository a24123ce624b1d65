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
  mailboxArgs,
  NR_HYPERCALLS,
  PORT_COUNTER,
  RAISE,
  raiseEvent,
  SERVICE_COUNTER,
  TRACE_KIND,
  TraceRing,
  VCPU_RUNSTATE,
  VIRQ,
} from '@pvkit/hypercall';
import { closeAllPorts } from './calls/evtchn.ts';
import { expireWatchdog } from './calls/watchdog.ts';
import type { Handler, ServiceContext } from './context.ts';
import { applyControl, applyControlSafely } from './control-messages.ts';
import { CALL_NAMES, hypercallTable } from './dispatch.ts';
import type { ServiceDomain } from './domain.ts';
import type { FromService, ToService } from './protocol.ts';

/** Traps answered before the clock is read again at the latest (see the hot path). */
export const STAMP_BATCH = 16;

/** The arguments of a trace record that has none (an event). */
const NO_ARGS = new Float64Array(MAX_HYPERCALL_ARGS);

export class Service implements ServiceContext {
  declare readonly timeBaseMs: number;
  declare readonly counters: Float64Array;
  /** Earliest armed timer of a running domain (host ms), Infinity if none. */
  nextTimerMs = Infinity;
  private readonly domains = new Map<number, ServiceDomain>();
  /** Live domains in scan order. */
  private live: ServiceDomain[] = [];
  private readonly table: Handler[] = hypercallTable();
  private readonly args = new Float64Array(MAX_HYPERCALL_ARGS);
  private trace: TraceRing | null = null;
  /** Straight to the toolstack: outside a trap only (inside one, postAfterTrap waits for its count). */
  declare readonly post: (m: FromService) => void;
  /**
   * A full GC of this thread's heap, if the entry could get one. V8 frees a
   * SharedArrayBuffer only when every thread's last view of it is collected,
   * and this thread allocates almost nothing, so without it a dead domain's
   * guest memory would stay mapped until some later GC (hundreds of MiB
   * after a few dozen domains).
   */
  collector: (() => void) | null = null;
  /** A domain was torn down since the last collect(): its views are garbage now. */
  garbage = false;

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
    if (this.trace !== null) this.record(d, 0, port, NO_ARGS, r, this.now, 0, TRACE_KIND.event);
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
    const r = this.table[nr](this, d, vcpu, args);
    if (this.trace !== null) this.record(d, vcpu, nr, args, r, this.now, 0, TRACE_KIND.entry);
    return r;
  }

  shutdown(d: ServiceDomain, reason: number, code: number, detail?: string): void {
    this.teardown(d);
    const m: FromService = { t: 'shutdown', domid: d.domid, reason, code };
    if (detail !== undefined) m.detail = detail;
    this.postAfterTrap(m);
  }

  crash(d: ServiceDomain, detail: string): void {
    this.teardown(d);
    this.postAfterTrap({ t: 'crash', domid: d.domid, detail });
  }

  /**
   * A domain's end, reported only once the trap that ended it is counted
   * and traced: the toolstack reads stats and drains the trace ring as soon
   * as it hears of the end, so they must already hold that trap.
   */
  private postAfterTrap(m: FromService): void {
    if (this.outbox !== null) this.outbox.push(m);
    else this.post(m);
  }

  // ---- The hot path ---------------------------------------------------------
  //
  // A trap's time runs from the clock read before its pickup to the clock
  // read after its answer. A read costs ~50 ns here, a fifth of a null trap,
  // and no moment is free while a guest traps back to back (the service
  // answers, the guest turns around, the next trap is there). So the clock is
  // read at idle passes only (the loop's CLOCK_EVERY), or once STAMP_BATCH
  // traps are waiting for an end stamp, and never between a pickup and its
  // answer. Traps served between two reads share that interval equally: each
  // call's total stays exact over the run, and its max is the largest share.
  // With a trace ring attached, every trap is stamped on its own (the trace
  // wants each trap's duration; tracing is not the fast path).

  /** Host clock (ms) as last read: the start of the traps picked up since. */
  now = hostClockMs();
  /** When the last trap was answered (ms): the spin window counts from it. */
  lastTrapMs = this.now;
  /** Traps answered since the clock was last read: domain and call number. */
  private readonly unstampedD: (ServiceDomain | null)[] = new Array(STAMP_BATCH).fill(null);
  private readonly unstampedNr = new Int32Array(STAMP_BATCH);
  private unstamped = 0;
  /** While a trap is served: messages held until it is settled (postAfterTrap). */
  private outbox: FromService[] | null = null;
  private readonly held: FromService[] = [];
  private lastV = 0;
  private lastR = 0;

  /** Serve at most one trap per live vCPU; true if any was served. */
  scan(): boolean {
    let served = false;
    const live = this.live;
    for (let i = 0; i < live.length; i++) {
      const d = live[i];
      if (d.paused || d.dead) continue; // (a trap earlier in this pass may have ended it)
      const boxes = d.mailboxes;
      for (let v = 0; v < boxes.length; v++) {
        const s = Atomics.load(boxes[v], MAILBOX.state);
        if (s === MAILBOX_STATE.request) {
          if (this.trace !== null && this.unstamped > 0) this.settle();
          this.serve(d, v, boxes[v]);
          served = true;
          if (d.dead) break;
        } else if (s !== MAILBOX_STATE.done && s !== MAILBOX_STATE.idle) {
          this.crash(d, `vCPU ${v} broke the ABI: mailbox state ${s}`);
          break;
        }
      }
    }
    if (served) {
      this.counters[SERVICE_COUNTER.served] += 1;
      if (this.unstamped >= STAMP_BATCH) this.settle(); // after the answers: the guests turn around
    }
    return served;
  }

  /** Read the clock; account the traps answered since the last read. */
  settle(): number {
    const end = hostClockMs();
    const n = this.unstamped;
    if (n > 0) {
      this.unstamped = 0;
      const ns = ((end - this.now) * 1e6) / n;
      for (let k = 0; k < n; k++) {
        const d = this.unstampedD[k] as ServiceDomain;
        this.unstampedD[k] = null;
        d.counters[DOMAIN_COUNTER.last_trap_ms] = end;
        const nr = this.unstampedNr[k];
        if (nr >= 0 && nr < NR_HYPERCALLS) d.countCall(nr, ns);
        // With a trace ring n is 1 (scan stamps each trap on its own), and
        // the trap's arguments are still in this.args.
        if (this.trace !== null)
          this.record(d, this.lastV, nr, this.args, this.lastR, this.now, ns, TRACE_KIND.trap);
      }
      this.lastTrapMs = end;
    }
    this.now = end;
    return end;
  }

  /** Has a trap been answered whose time is not yet counted? */
  get unsettled(): boolean {
    return this.unstamped > 0;
  }

  private serve(d: ServiceDomain, v: number, m: Int32Array): void {
    const nr = m[MAILBOX.nr];
    const a = this.args;
    mailboxArgs(m, a);
    d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.running; // block/poll say otherwise
    d.counters[DOMAIN_COUNTER.hypercalls] += 1;
    let r: number;
    const held = this.held;
    this.outbox = held;
    try {
      r = nr >= 0 && nr < NR_HYPERCALLS ? this.table[nr](this, d, v, a) : -ERRNO.ENOSYS;
    } catch (e) {
      // A VMM bug must not take other domains down: this one crashes, loudly.
      this.outbox = null;
      const name = CALL_NAMES.get(nr) ?? `#${nr}`;
      this.crash(d, `VMM error in ${name}: ${e instanceof Error ? e.message : String(e)}`);
      this.flushHeld();
      return;
    }
    this.outbox = null;
    if (!d.dead) mailboxAnswer(m, r); // shut down in this call: no answer, still counted
    const k = this.unstamped++;
    this.unstampedD[k] = d;
    this.unstampedNr[k] = nr;
    this.lastV = v;
    this.lastR = r; // its arguments stay in this.args until the next serve, after settle()
    if (held.length > 0) {
      this.settle();
      this.flushHeld();
    }
  }

  private flushHeld(): void {
    const held = this.held;
    for (let i = 0; i < held.length; i++) this.post(held[i]);
    held.length = 0;
  }

  private record(
    d: ServiceDomain,
    v: number,
    nr: number,
    args: Float64Array,
    r: number,
    at: number,
    ns: number,
    kind: number,
  ) {
    this.trace?.push({
      timeNs: d.systemTimeNs(this.timeBaseMs, at),
      domid: d.domid,
      vcpu: v,
      nr,
      arg0: args[0] >>> 0,
      result: r,
      durationNs: ns,
      kind,
      args,
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
      if (d.paused) continue;
      if (expireWatchdog(this, d, now)) continue;
      if (d.timerMs === 0 || d.timerMs > now) continue;
      d.timerMs = 0;
      d.counters[DOMAIN_COUNTER.timer_fires] += 1;
      d.counters[DOMAIN_COUNTER.timer_deadline_ns] = 0;
      const port = d.virqPorts[VIRQ.timer];
      if (port !== 0) this.raise(d, port);
    }
    this.recomputeTimers();
  }

  timersChanged(): void {
    this.recomputeTimers();
  }

  private recomputeTimers(): void {
    let next = Infinity;
    let armed = 0;
    for (const d of this.live) {
      if (!d.paused) next = Math.min(next, d.watchdogs.next());
      if (d.timerMs === 0) continue;
      armed++;
      if (!d.paused && d.timerMs < next) next = d.timerMs;
    }
    this.nextTimerMs = next;
    this.counters[SERVICE_COUNTER.timers_armed] = armed;
  }

  // ---- Control from the toolstack (between passes, never inside a trap) -----

  /** Apply one toolstack message (control-messages.ts says what each does). */
  control(msg: ToService): void {
    applyControl(this, msg);
  }

  /** control(), but a bad message fails only the domain it names, never the service. */
  controlSafely(msg: ToService): void {
    applyControlSafely(this, msg);
  }

  /** Serve `d` from the next pass on. */
  admit(d: ServiceDomain): void {
    this.domains.set(d.domid, d);
    this.live = [...this.domains.values()];
    this.counters[SERVICE_COUNTER.domains] = this.domains.size;
  }

  /** Record every trap from now on into `ring` (null: stop tracing). */
  traceInto(ring: SharedArrayBuffer | null): void {
    if (this.unstamped > 0) this.settle(); // traps from before stay out of the ring
    this.trace = ring ? new TraceRing(ring) : null;
  }

  /** Collect the views of torn-down domains (the loop calls it before it sleeps). */
  collect(): void {
    this.garbage = false;
    this.collector?.();
  }

  /** Release everything the service holds for `d`: timer, ports, console. */
  teardown(d: ServiceDomain): void {
    if (d.dead) return;
    if (this.unstamped > 0) this.settle();
    d.dead = true;
    closeAllPorts(this, d, this.live);
    d.timerMs = 0;
    d.watchdogs.clear();
    d.consoleFlush();
    d.counters[DOMAIN_COUNTER.vcpu_state] = VCPU_RUNSTATE.down;
    d.counters[DOMAIN_COUNTER.timer_deadline_ns] = 0;
    this.domains.delete(d.domid);
    this.garbage = true;
    this.live = [...this.domains.values()];
    this.counters[SERVICE_COUNTER.domains] = this.domains.size;
    this.recomputeTimers();
  }
}
