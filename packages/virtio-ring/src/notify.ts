// The two halves of notification suppression, the same on both sides of a
// queue: publishing this side's index and deciding whether the other side
// asked to hear about it (IndexPublisher), and asking the other side to
// notify this one, or not (NotifySwitch). The driver publishes avail.idx
// and reads avail_event / the used ring's NO_NOTIFY flag; the device
// publishes used.idx and reads used_event / the avail ring's NO_INTERRUPT.

import { needEvent, VRING_AVAIL_F_NO_INTERRUPT, VRING_USED_F_NO_NOTIFY } from './layout.ts';
import type { RingIndices } from './queue-setup.ts';
import type { RingIndexAccess } from './ring-index.ts';

export class IndexPublisher {
  declare private readonly atomics: RingIndexAccess;
  declare private readonly idxAt: number;
  declare private readonly eventAt: number;
  declare private readonly flagsAt: number;
  declare private readonly flag: number;
  declare private readonly eventIdx: boolean;
  declare private readonly size: number;
  /** The index last stored, and how many entries it moved since the last decision. */
  private published = 0;
  private undecided = 0;

  /**
   * `idxAt`: u16 index of the index this side publishes; `eventAt`,
   * `flagsAt`, `flag`: the other side's event index and suppression flag.
   */
  constructor(
    atomics: RingIndexAccess,
    idxAt: number,
    eventAt: number,
    flagsAt: number,
    flag: number,
    eventIdx: boolean,
    size: number,
  ) {
    this.atomics = atomics;
    this.idxAt = idxAt;
    this.eventAt = eventAt;
    this.flagsAt = flagsAt;
    this.flag = flag;
    this.eventIdx = eventIdx;
    this.size = size;
  }

  get value(): number {
    return this.published;
  }

  /** Store the index once for everything since the last publish. */
  publish(now: number): void {
    const moved = (now - this.published) & 0xffff;
    if (moved === 0) return;
    this.atomics.store(this.idxAt, now);
    this.published = now;
    this.undecided += moved;
  }

  /** Did the other side ask to hear about what was published since the last decision? */
  notifyNeeded(): boolean {
    const span = this.undecided;
    if (span === 0) return false;
    this.undecided = 0;
    const now = this.published;
    // A sleeping side's event index is within N of `now`: the window never
    // needs to reach further back, even after 65536 undecided entries.
    const old = (now - Math.min(span, this.size)) & 0xffff;
    // publish()'s seq-cst store orders before these loads (the spec's barrier).
    if (this.eventIdx) return needEvent(this.atomics.load(this.eventAt), now, old);
    return (this.atomics.load(this.flagsAt) & this.flag) === 0;
  }
}

export class NotifySwitch {
  declare private readonly atomics: RingIndexAccess;
  declare private readonly eventAt: number;
  declare private readonly flagsAt: number;
  declare private readonly flag: number;
  declare private readonly eventIdx: boolean;
  private on = true;

  /** `eventAt`, `flagsAt`, `flag`: this side's own event index and suppression flag. */
  constructor(
    atomics: RingIndexAccess,
    eventAt: number,
    flagsAt: number,
    flag: number,
    eventIdx: boolean,
  ) {
    this.atomics = atomics;
    this.eventAt = eventAt;
    this.flagsAt = flagsAt;
    this.flag = flag;
    this.eventIdx = eventIdx;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Ask to be notified once the other side's index passes `next`. */
  enable(next: number): void {
    if (this.eventIdx) this.atomics.store(this.eventAt, next);
    else if (!this.on) this.atomics.store(this.flagsAt, 0);
    this.on = true;
  }

  /**
   * Ask not to be notified. With EVENT_IDX this is a hint: an event index
   * just behind `next` is crossed again only after 65536 more entries (one
   * spurious notification).
   */
  disable(next: number): void {
    if (!this.on) return;
    this.on = false;
    if (this.eventIdx) this.atomics.store(this.eventAt, (next - 1) & 0xffff);
    else this.atomics.store(this.flagsAt, this.flag);
  }

  /** With EVENT_IDX and notifications on, keep the event index at `next` (Linux does this on every reclaim). */
  follow(next: number): void {
    if (this.eventIdx && this.on) this.atomics.store(this.eventAt, next);
  }
}

/**
 * One side's two halves for a queue at `ix`: the driver publishes avail.idx
 * and switches interrupts (used_event, the avail ring's NO_INTERRUPT); the
 * device publishes used.idx and switches kicks (avail_event, NO_NOTIFY).
 */
export function notifyHalves(
  side: 'driver' | 'device',
  atomics: RingIndexAccess,
  ix: RingIndices,
  eventIdx: boolean,
): { publisher: IndexPublisher; requests: NotifySwitch } {
  const driver = side === 'driver';
  const [idx, event, flags, flag] = driver
    ? [ix.availIdx, ix.availEvent, ix.usedFlags, VRING_USED_F_NO_NOTIFY]
    : [ix.usedIdx, ix.usedEvent, ix.availFlags, VRING_AVAIL_F_NO_INTERRUPT];
  const [ownEvent, ownFlags, ownFlag] = driver
    ? [ix.usedEvent, ix.availFlags, VRING_AVAIL_F_NO_INTERRUPT]
    : [ix.availEvent, ix.usedFlags, VRING_USED_F_NO_NOTIFY];
  return {
    publisher: new IndexPublisher(atomics, idx, event, flags, flag, eventIdx, ix.size),
    requests: new NotifySwitch(atomics, ownEvent, ownFlags, ownFlag, eventIdx),
  };
}
