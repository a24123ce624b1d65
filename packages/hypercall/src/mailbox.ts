// The trap: a vCPU writes the call number and six u64 arguments into its
// mailbox, publishes it with Atomics.store, and waits for the answer the way
// KVM halt-polling does: spin a bounded number of polls, then Atomics.wait.
// The service answers the same way in reverse. Each side notifies the other
// only when that side said it sleeps, under a Dekker-style check (store my
// flag, then load yours; Atomics are sequentially consistent), so neither a
// wake-up is lost nor a notify paid for while both sides spin.
import { MAILBOX, MAILBOX_BYTES, MAILBOX_STATE } from './layout.ts';

const TWO32 = 4294967296;

/** The service doorbell: one Int32 word every vCPU may ring; the service sleeps on it. */
export const SERVICE_DOORBELL = { seq: 0 } as const;
export const SERVICE_DOORBELL_BYTES = 64;

/** Polls before a vCPU sleeps on its mailbox (~30 µs here; the floor table in baselines/). */
export const DEFAULT_GUEST_SPIN = 2000;

export type Hypercall = (
  nr: number,
  a0?: number,
  a1?: number,
  a2?: number,
  a3?: number,
  a4?: number,
  a5?: number,
) => number;

export function createMailbox(): SharedArrayBuffer {
  return new SharedArrayBuffer(MAILBOX_BYTES);
}

export function createServiceDoorbell(): SharedArrayBuffer {
  return new SharedArrayBuffer(SERVICE_DOORBELL_BYTES);
}

function put(m: Int32Array, i: number, a: number): void {
  m[i] = a; // ToInt32 keeps the low 32 bits
  m[i + 1] = a >= 0 && a < TWO32 ? 0 : Math.floor(a / TWO32);
}

/**
 * put(), but a word that already holds its value is not written: an
 * argument line the service has read stays shared by both cores, and the
 * next trap does not have to take it back (most calls repeat most words).
 */
function putChanged(m: Int32Array, i: number, a: number): void {
  const lo = a | 0;
  const hi = a >= 0 && a < TWO32 ? 0 : Math.floor(a / TWO32) | 0;
  if (m[i] !== lo) m[i] = lo;
  if (m[i + 1] !== hi) m[i + 1] = hi;
}

export interface StubOptions {
  /** Polls before sleeping (DEFAULT_GUEST_SPIN). */
  spin?: number;
  /** Give up (throw) after this long without an answer; a kernel waits forever (default). */
  timeoutMs?: number;
}

/**
 * The guest-side stub: `hypercall(nr, ...args)` returns the call's result
 * (>= 0) or a negative errno. Arguments are integers (u64 as far as a JS
 * number is exact, up to 2^53); pointers are guest-physical addresses.
 */
export function createHypercall(
  mailbox: SharedArrayBuffer,
  doorbell: SharedArrayBuffer,
  opts: StubOptions = {},
): Hypercall {
  const spin = opts.spin ?? DEFAULT_GUEST_SPIN;
  const timeoutMs = opts.timeoutMs ?? Infinity;
  const m = new Int32Array(mailbox);
  const db = new Int32Array(doorbell);
  const { state, nr: NR, args, result, guest_sleeping, svc_sleeping } = MAILBOX;
  const { request } = MAILBOX_STATE;
  return function hypercall(nr, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0) {
    m[NR] = nr;
    putChanged(m, args, a0);
    putChanged(m, args + 2, a1);
    putChanged(m, args + 4, a2);
    putChanged(m, args + 6, a3);
    putChanged(m, args + 8, a4);
    putChanged(m, args + 10, a5);
    Atomics.store(m, state, request);
    if (Atomics.load(m, svc_sleeping) !== 0) {
      Atomics.add(db, SERVICE_DOORBELL.seq, 1);
      Atomics.notify(db, SERVICE_DOORBELL.seq);
    }
    let i = spin;
    while (Atomics.load(m, state) === request && --i > 0) {}
    if (i === 0) {
      Atomics.store(m, guest_sleeping, 1);
      while (Atomics.load(m, state) === request)
        if (Atomics.wait(m, state, request, timeoutMs) === 'timed-out')
          throw new Error(`hypercall ${nr}: no answer from the hypervisor in ${timeoutMs} ms`);
      Atomics.store(m, guest_sleeping, 0);
    }
    return m[result + 1] * TWO32 + (m[result] >>> 0);
  };
}

// ---- Host side --------------------------------------------------------------

/** Argument i (0..5) of the pending request, as a JS number (exact below 2^53; hi word signed). */
export function mailboxArg(m: Int32Array, i: number): number {
  const w = MAILBOX.args + 2 * i;
  return m[w + 1] * TWO32 + (m[w] >>> 0);
}

/**
 * All six arguments of the pending request into `a` (mailboxArg each),
 * written out: the service does this once per trap, and the loop form costs
 * it ~20 ns more.
 */
export function mailboxArgs(m: Int32Array, a: Float64Array): void {
  const w = MAILBOX.args;
  a[0] = m[w + 1] * TWO32 + (m[w] >>> 0);
  a[1] = m[w + 3] * TWO32 + (m[w + 2] >>> 0);
  a[2] = m[w + 5] * TWO32 + (m[w + 4] >>> 0);
  a[3] = m[w + 7] * TWO32 + (m[w + 6] >>> 0);
  a[4] = m[w + 9] * TWO32 + (m[w + 8] >>> 0);
  a[5] = m[w + 11] * TWO32 + (m[w + 10] >>> 0);
}

/** Publish a result and wake the vCPU if it said it sleeps. */
export function mailboxAnswer(m: Int32Array, value: number): void {
  put(m, MAILBOX.result, value);
  Atomics.store(m, MAILBOX.state, MAILBOX_STATE.done);
  if (Atomics.load(m, MAILBOX.guest_sleeping) !== 0) Atomics.notify(m, MAILBOX.state);
}

/** Read a u64 field stored as two u32 words (lo, hi) at word index w. */
export function readU64(words: Int32Array, w: number): number {
  return (words[w + 1] >>> 0) * TWO32 + (words[w] >>> 0);
}

/** Read an i64 field stored as two words (lo, hi signed) at word index w. */
export function readI64(words: Int32Array, w: number): number {
  return words[w + 1] * TWO32 + (words[w] >>> 0);
}

/** Write an integer (|x| < 2^53) as a 64-bit field of two words at word index w. */
export function writeI64(words: Int32Array, w: number, x: number): void {
  put(words, w, x);
}
