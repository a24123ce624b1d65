// What a hypercall handler may ask of the service. Handlers are plain
// functions of (service, domain, vcpu, args) returning a result >= 0 or a
// negative errno; they validate every argument and never throw on guest input.
import type { ServiceDomain } from './domain.ts';

export interface ServiceContext {
  /** Host clock (ms) at system time 0, shared by every domain. */
  readonly timeBaseMs: number;
  /** A live (not shut down) domain by id. */
  domain(domid: number): ServiceDomain | undefined;
  /** Raise `port` in `d` and count the delivery. */
  raise(d: ServiceDomain, port: number): void;
  /** Arm (deadlineMs > 0, host clock) or cancel (0) the domain's one-shot timer. */
  setTimer(d: ServiceDomain, deadlineMs: number): void;
  /** A domain's watchdogs changed: recompute the service's next deadline. */
  timersChanged(): void;
  /** Guest-requested shutdown (or a watchdog's): the domain gets no answer and is torn down. */
  shutdown(d: ServiceDomain, reason: number, code: number, detail?: string): void;
  /** Run one call for a multicall entry (counted, not timed). */
  dispatch(d: ServiceDomain, vcpu: number, nr: number, args: Float64Array): number;
}

/** One hypercall handler. `a` holds the six arguments as numbers. */
export type Handler = (
  svc: ServiceContext,
  d: ServiceDomain,
  vcpu: number,
  a: Float64Array,
) => number;
