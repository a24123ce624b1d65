// The scheduler (Mini-OS sched.c): cooperative tasks. A task is an async
// function; it gives up the vCPU only inside a kernel primitive (sleep, a
// wait queue, yield), each of which "parks" it. The kernel counts runnable
// tasks; when none is left it handles events and timers, and when there is
// still nothing to do it idles: arm the VMM timer with the earliest
// deadline, then block until an event.
import { VCPU_INFO, vcpuInfoWord } from '@pvkit/hypercall';
import { HaltPoll } from '@pvkit/virtio-ring';
import type { Hypervisor } from './arch/hypervisor.ts';
import type { Events } from './events.ts';
import type { Time } from './time.ts';

export interface Task {
  readonly id: number;
  readonly name: string;
  /** The exit code once the task has returned. */
  code: number | null;
  readonly joiners: ((code: number) => void)[];
}

export type IdleMode = 'wait' | 'poll' | 'block';
export const IDLE_MODES: readonly IdleMode[] = ['wait', 'poll', 'block'];

/**
 * What a driver expects (addBusyHint). `poll`: like `soon`, and its
 * completions come within microseconds, so poll for them (bounded, HaltPoll)
 * in idle=wait mode too, not only with idle=poll.
 */
export const BUSY = { none: 0, event: 1, soon: 2, poll: 3 } as const;

/** Polls of upcall_pending before trapping to block (~20 µs): a reply often comes sooner. */
const IDLE_POLL = 1500;
/**
 * The longest poll when a driver expects an event soon (I/O in flight). The
 * window adapts below it like KVM's halt polling (HaltPoll): a block and its
 * wake-up cost a trap and a thread wake-up, tens of µs each here, more than
 * most I/O takes; but on a host whose CPUs are all busy, polling only keeps
 * the device's thread from running, and the window shrinks to nothing.
 */
const BUSY_POLL_MAX_US = 500;
/** Longest device wait before the idle loop looks around again (a dead device must not hang it). */
const DEVICE_WAIT_MAX_MS = 100;
const WAKE_WORD = vcpuInfoWord(0, VCPU_INFO.wake);

export class Scheduler {
  declare private readonly hv: Hypervisor;
  declare private readonly events: Events;
  declare private readonly time: Time;
  private runnable = 0;
  private live = 0;
  private nextId = 1;
  private allParked: (() => void) | null = null;
  private yielded: (() => void)[] = [];
  private stopping = false;
  /** A task that threw: the kernel panics with it. */
  private failure: unknown = null;
  /** Times the vCPU blocked (sched_op(block)), and waited for a device without a trap. */
  blocks = 0;
  deviceWaits = 0;
  /**
   * How the idle loop waits while I/O is in flight (`idle=` on the kernel
   * command line): "wait" (default) sleeps on the wake word without a trap;
   * "poll" first polls while the device visibly works (worth it when the
   * vCPU has a CPU of its own: measured worse on a shared 2-CPU host, where
   * the poll takes the CPU the backend needs); "block" always traps.
   */
  idleMode: IdleMode = 'wait';
  /** Drivers that expect an event soon (I/O in flight): idle() polls longer before blocking. */
  private readonly busyHints: (() => number)[] = [];
  private readonly progressOf: (() => number)[] = [];
  private readonly devicesProgress = (): number => {
    let n = 0;
    for (const p of this.progressOf) n += p();
    return n;
  };
  private readonly busyPoll = new HaltPoll({ maxUs: BUSY_POLL_MAX_US, startUs: 20 });
  private readonly eventPending = (): boolean => this.events.pending();
  /** The VMM timer as last armed, and VIRQ_TIMER's count then (a fire disarms it). */
  private armedNs = -1;
  private armedTicks = -1;

  constructor(hv: Hypervisor, events: Events, time: Time) {
    this.hv = hv;
    this.events = events;
    this.time = time;
  }

  get tasks(): number {
    return this.live;
  }

  /** Start `body` as a task; it runs at once, up to its first kernel primitive. */
  spawn(name: string, body: () => Promise<number | undefined>): Task {
    const task: Task = { id: this.nextId++, name, code: null, joiners: [] };
    this.live++;
    this.runnable++;
    body().then(
      (code) => this.exit(task, code ?? 0),
      (e: unknown) => {
        this.failure ??= e; // run() rethrows it: the kernel panics
        this.exit(task, -1);
      },
    );
    return task;
  }

  /** Park until `task` has exited; its exit code. */
  join(task: Task): Promise<number> {
    if (task.code !== null && this.failure === null) return Promise.resolve(task.code);
    return this.park((resume) => {
      task.joiners.push(resume);
    });
  }

  private exit(task: Task, code: number): void {
    task.code = code;
    this.live--;
    // A task that threw wakes no one: the kernel panics at the scheduler's next turn.
    if (this.failure === null) for (const resume of task.joiners) resume(code);
    this.stopRunning();
  }

  private stopRunning(): void {
    if (--this.runnable === 0 && this.allParked) {
      const wake = this.allParked;
      this.allParked = null;
      wake();
    }
  }

  /**
   * The one way a task waits: it parks until `arm`'s resume is called (by a
   * timer, an event handler, a wait queue).
   */
  park<T = void>(arm: (resume: (value: T) => void) => void): Promise<T> {
    this.stopRunning();
    return new Promise<T>((resolve) => {
      let resumed = false;
      arm((value) => {
        if (resumed) return;
        resumed = true;
        this.runnable++;
        resolve(value);
      });
    });
  }

  sleepUntil(deadlineNs: number): Promise<void> {
    return this.park((resume) => {
      this.time.add(deadlineNs, resume);
    });
  }

  sleep(ms: number): Promise<void> {
    return this.sleepUntil(this.time.nowNs() + Math.max(0, ms) * 1e6);
  }

  /** Let every other runnable task run once. */
  yield(): Promise<void> {
    return this.park((resume) => {
      this.yielded.push(resume);
    });
  }

  /** Make run() return at its next turn (a shutdown request). */
  stop(): void {
    this.stopping = true;
  }

  /**
   * The idle loop: runs until every task has exited (or, with `idleForever`,
   * until stop()); rethrows the exception of a task that threw.
   */
  async run(idleForever = false): Promise<void> {
    while ((this.live > 0 || idleForever) && !this.stopping) {
      if (this.runnable > 0) await new Promise<void>((r) => (this.allParked = r));
      if (this.failure !== null) throw this.failure;
      if (this.live === 0 && !idleForever) break;
      // Every task is parked: what can wake one?
      const y = this.yielded;
      this.yielded = [];
      for (const resume of y) resume();
      if (this.events.pending()) this.events.upcall();
      this.time.runExpired();
      if (this.runnable === 0 && !this.stopping) this.idle();
    }
    if (this.failure !== null) throw this.failure;
  }

  /**
   * A driver says what it expects: BUSY.none, BUSY.event (requests in flight:
   * wait for the interrupt without a trap), BUSY.soon (and the device is
   * running: worth polling for first with idle=poll) or BUSY.poll (poll
   * first unless idle=block); and how far its devices have got (a
   * counter that moves while they work, e.g. used.idx): a poll stops when it
   * stands still.
   */
  addBusyHint(expecting: () => number, progress: () => number): void {
    this.busyHints.push(expecting);
    this.progressOf.push(progress);
  }

  /**
   * Nothing runnable: poll briefly (longer while I/O is in flight), then
   * block until an event or the earliest timer.
   */
  private idle(): void {
    for (let i = 0; i < IDLE_POLL; i++) if (this.events.pending()) return;
    let expect: number = BUSY.none;
    for (const h of this.busyHints) expect = Math.max(expect, h());
    const busy = expect !== BUSY.none;
    const poll =
      (expect === BUSY.soon && this.idleMode === 'poll') ||
      (expect === BUSY.poll && this.idleMode !== 'block');
    if (poll && this.busyPoll.poll(this.eventPending, this.devicesProgress)) return;
    const deadline = this.time.nextDeadline();
    if (deadline !== 0 && deadline <= this.time.nowNs()) return;
    const t0 = performance.now();
    if (busy && this.idleMode !== 'block') this.waitForDevice(deadline);
    else this.block(deadline);
    this.hv.setUpcallMask(true);
    if (poll) this.busyPoll.slept((performance.now() - t0) * 1000);
  }

  /** Xen's idle: arm the VMM timer with the earliest deadline, then sched_op(block). */
  private block(deadline: number): void {
    // The VMM keeps an armed timer until it fires: re-arming the same one is a wasted trap.
    if (deadline !== this.armedNs || this.time.ticks !== this.armedTicks) {
      this.hv.setTimer(deadline);
      this.armedNs = deadline;
      this.armedTicks = this.time.ticks;
    }
    this.blocks++;
    this.hv.block();
  }

  /**
   * Wait for a device's interrupt without trapping: unmask upcalls (a
   * guest-owned word, as Lguest's interrupt flag), then sleep on the vCPU's
   * wake word until raiseEvent bumps it or the earliest timer is due. This is
   * sched_op(block) minus the trap: the trap only unmasks and counts, and
   * costs two thread wake-ups when the hypervisor service sleeps, more than
   * a request takes. Same Dekker order as the VMM's: read the wake word,
   * unmask, look at upcall_pending, then wait.
   */
  private waitForDevice(deadline: number): void {
    this.deviceWaits++;
    const w = this.hv.words;
    const seen = Atomics.load(w, WAKE_WORD);
    this.hv.setUpcallMask(false);
    if (this.events.pending()) return;
    const ms = deadline === 0 ? DEVICE_WAIT_MAX_MS : (deadline - this.time.nowNs()) / 1e6;
    if (ms > 0) Atomics.wait(w, WAKE_WORD, seen, Math.min(ms, DEVICE_WAIT_MAX_MS));
  }
}

/** A wait queue: tasks park on it until someone wakes them. */
export class WaitQueue {
  declare private readonly sched: Scheduler;
  private waiters: (() => void)[] = [];

  constructor(sched: Scheduler) {
    this.sched = sched;
  }

  wait(): Promise<void> {
    return this.sched.park((resume) => {
      this.waiters.push(() => resume());
    });
  }

  /** Park until cond() holds (checked after every wake). */
  async waitUntil(cond: () => boolean): Promise<void> {
    while (!cond()) await this.wait();
  }

  wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resume of w) resume();
  }

  wakeOne(): void {
    this.waiters.shift()?.();
  }
}
