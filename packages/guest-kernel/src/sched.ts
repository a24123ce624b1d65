// The scheduler (Mini-OS sched.c): cooperative tasks. A task is an async
// function; it gives up the vCPU only inside a kernel primitive (sleep, a
// wait queue, yield), each of which "parks" it. The kernel counts runnable
// tasks; when none is left it handles events and timers, and when there is
// still nothing to do it idles: arm the VMM timer with the earliest
// deadline, then block until an event.
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

/** Polls of upcall_pending before trapping to block (~20 µs): a reply often comes sooner. */
const IDLE_POLL = 1500;
/**
 * How long to keep polling when a driver expects an event soon (I/O in
 * flight), like KVM's halt polling: a block and its wake-up cost two traps
 * and a thread wake-up, tens of µs each here, more than most I/O takes.
 */
const BUSY_POLL_MS = 0.2;

export class Scheduler {
  private readonly hv: Hypervisor;
  private readonly events: Events;
  private readonly time: Time;
  private runnable = 0;
  private live = 0;
  private nextId = 1;
  private allParked: (() => void) | null = null;
  private yielded: (() => void)[] = [];
  private stopping = false;
  /** A task that threw: the kernel panics with it. */
  private failure: unknown = null;
  /** Times the vCPU blocked. */
  blocks = 0;
  /** Drivers that expect an event soon (I/O in flight): idle() polls longer before blocking. */
  private readonly busyHints: (() => boolean)[] = [];
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

  /** A driver says whether it expects an event soon (e.g. requests in flight). */
  addBusyHint(expecting: () => boolean): void {
    this.busyHints.push(expecting);
  }

  /** Nothing runnable: poll briefly (longer while I/O is in flight), then arm the timer and block. */
  private idle(): void {
    for (let i = 0; i < IDLE_POLL; i++) if (this.events.pending()) return;
    if (this.busyHints.some((h) => h())) {
      const until = performance.now() + BUSY_POLL_MS;
      do {
        for (let i = 0; i < 200; i++) if (this.events.pending()) return;
      } while (performance.now() < until);
    }
    const deadline = this.time.nextDeadline();
    if (deadline !== 0 && deadline <= this.time.nowNs()) return;
    // The VMM keeps an armed timer until it fires: re-arming the same one is a wasted trap.
    if (deadline !== this.armedNs || this.time.ticks !== this.armedTicks) {
      this.hv.setTimer(deadline);
      this.armedNs = deadline;
      this.armedTicks = this.time.ticks;
    }
    this.blocks++;
    this.hv.block();
    this.hv.setUpcallMask(true);
  }
}

/** A wait queue: tasks park on it until someone wakes them. */
export class WaitQueue {
  private readonly sched: Scheduler;
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
