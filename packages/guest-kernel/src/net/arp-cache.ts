// The neighbour table of one interface: IPv4 → MAC with timeouts, and the
// packets waiting for a resolution.
//
// An entry is *reachable* for `reachableMs` after it was last confirmed (an
// ARP packet from that host), then *stale* for `staleMs`: still used, so
// traffic never stalls on a refresh, but the first use sends a new request.
// After that it is gone. Packets to an unresolved address wait in a bounded
// queue (per destination and in total; the oldest is dropped first, as
// Linux's unres_qlen does) while requests are retried every `retryMs`, at
// most `maxRequests` times; then the queue is dropped.
//
// Reachable turns stale by timer, as in Linux's neighbour table: tick()
// does it at nextDeadline(), so the send path asks reachable() and reads no
// clock while the entry is fresh; lookup() with the time does the rest.
//
// Nothing here reads a clock or sends: the caller passes `now` and a
// function that transmits a request, so the table is easy to test.

import type { NetStats } from './stats.ts';
import type { TxOptions } from './types.ts';

export interface ArpTimers {
  reachableMs: number;
  staleMs: number;
  retryMs: number;
  /** Requests sent for one resolution before giving up. */
  maxRequests: number;
  /** Entries kept; the least recently confirmed goes first. */
  maxEntries: number;
  /** Packets queued per unresolved destination. */
  queuePerDest: number;
  /** Packets queued over all destinations (and destinations being resolved at once). */
  queueTotal: number;
}

export const DEFAULT_ARP_TIMERS: Readonly<ArpTimers> = {
  reachableMs: 60_000,
  staleMs: 60_000,
  retryMs: 1_000,
  maxRequests: 3,
  maxEntries: 512,
  queuePerDest: 16,
  queueTotal: 128,
};

interface Entry {
  mac: Uint8Array;
  confirmedAt: number;
  /** When the last refresh request went out for a stale entry. */
  refreshAt: number;
  /** Within reachableMs of its confirmation, as far as tick() and lookup() have seen. */
  reachable: boolean;
}

/** A frame built in full except for its destination MAC. */
export interface QueuedFrame {
  frame: Uint8Array;
  opts: TxOptions;
}

interface Pending {
  queue: QueuedFrame[];
  requests: number;
  nextRequestAt: number;
}

export class ArpCache {
  declare readonly timers: ArpTimers;
  private readonly entries = new Map<number, Entry>();
  private readonly pending = new Map<number, Pending>();
  /**
   * The reachable entries, least recently confirmed first, and when the
   * first turns stale (Infinity: none; NaN: to be worked out again). As
   * Linux's neighbour timers do, tick() turns them stale at that deadline,
   * so a send to a reachable neighbour needs no clock (reachable()).
   */
  private readonly fresh = new Map<number, Entry>();
  private freshUntil = Number.POSITIVE_INFINITY;
  private queued = 0;
  declare private readonly stats: NetStats;
  declare private readonly sendRequest: (ip: number) => void;

  constructor(stats: NetStats, sendRequest: (ip: number) => void, timers?: Partial<ArpTimers>) {
    this.stats = stats;
    this.sendRequest = sendRequest;
    this.timers = { ...DEFAULT_ARP_TIMERS, ...timers };
  }

  /** The MAC for `ip`, or null. A stale hit also sends a rate-limited refresh request. */
  lookup(ip: number, now: number): Uint8Array | null {
    const e = this.entries.get(ip);
    if (e === undefined) return null;
    const age = now - e.confirmedAt;
    if (age < this.timers.reachableMs) return e.mac;
    if (e.reachable) this.turnStale(ip, e);
    if (age >= this.timers.reachableMs + this.timers.staleMs) {
      this.entries.delete(ip);
      return null;
    }
    if (now - e.refreshAt >= this.timers.retryMs) {
      e.refreshAt = now;
      this.sendRequest(ip);
    }
    return e.mac;
  }

  /**
   * The MAC for `ip` while its entry is reachable, without a clock (tick()
   * turns entries stale when nextDeadline() says); null: ask lookup().
   */
  reachable(ip: number): Uint8Array | null {
    const e = this.entries.get(ip);
    return e?.reachable === true ? e.mac : null;
  }

  /** Number of live entries (for tests and stats). */
  get size(): number {
    return this.entries.size;
  }

  /** Number of packets waiting for resolution. */
  get queuedPackets(): number {
    return this.queued;
  }

  /**
   * Record that `ip` is at `mac` (copied). RFC 826's merge rule: an existing
   * entry is always updated; a new one is created only when `create` (the
   * packet was addressed to us), so broadcast chatter cannot fill the table.
   * Returns the packets that were waiting for this address, with their
   * destination MAC filled in, for the caller to transmit.
   */
  confirm(
    ip: number,
    mac: Uint8Array,
    macOff: number,
    now: number,
    create: boolean,
  ): QueuedFrame[] | null {
    let e = this.entries.get(ip);
    if (e === undefined) {
      if (!create && !this.pending.has(ip)) return null;
      if (this.entries.size >= this.timers.maxEntries) this.evictOldest();
      e = { mac: new Uint8Array(6), confirmedAt: now, refreshAt: -Infinity, reachable: true };
    } else {
      // Re-insert so Map order stays "least recently confirmed first".
      this.entries.delete(ip);
    }
    e.mac.set(mac.subarray(macOff, macOff + 6));
    e.confirmedAt = now;
    e.reachable = true;
    this.entries.set(ip, e);
    this.fresh.delete(ip);
    this.fresh.set(ip, e);
    this.freshUntil = Number.NaN;

    const p = this.pending.get(ip);
    if (p === undefined) return null;
    this.pending.delete(ip);
    this.queued -= p.queue.length;
    for (const q of p.queue) q.frame.set(e.mac, 0);
    return p.queue;
  }

  /**
   * Queue `frame` (owned by the cache from now on) until `ip` resolves. The
   * first packet for an address sends the first request at once.
   */
  enqueue(ip: number, frame: Uint8Array, opts: TxOptions, now: number): void {
    let p = this.pending.get(ip);
    if (p === undefined) {
      // Bound the destinations being resolved too, or sending to many
      // unknown addresses would grow the table and the ARP traffic.
      if (this.pending.size >= this.timers.queueTotal) {
        this.stats.arpQueueDrops++;
        return;
      }
      p = { queue: [], requests: 1, nextRequestAt: now + this.timers.retryMs };
      this.pending.set(ip, p);
      this.sendRequest(ip);
    }
    if (p.queue.length >= this.timers.queuePerDest) {
      p.queue.shift();
      this.queued--;
      this.stats.arpQueueDrops++;
    }
    if (this.queued >= this.timers.queueTotal) this.dropOldestQueued();
    p.queue.push({ frame, opts });
    this.queued++;
  }

  /** Turn reachable entries stale, retry or give up on resolutions, as their time has come. */
  tick(now: number): void {
    if (now >= this.firstStale()) {
      for (const [ip, e] of this.fresh) {
        if (now - e.confirmedAt < this.timers.reachableMs) break;
        this.turnStale(ip, e);
      }
    }
    for (const [ip, p] of this.pending) {
      if (now < p.nextRequestAt) continue;
      if (p.requests >= this.timers.maxRequests) {
        this.pending.delete(ip);
        this.queued -= p.queue.length;
        this.stats.arpQueueDrops += p.queue.length;
        this.stats.arpUnresolved++;
        continue;
      }
      p.requests++;
      p.nextRequestAt = now + this.timers.retryMs;
      this.sendRequest(ip);
    }
  }

  /**
   * Earliest time tick() has work (a retry, or a reachable entry turning
   * stale: one timer per confirmation), or null: such a table needs none.
   */
  nextDeadline(): number | null {
    const stale = this.firstStale();
    let next: number | null = stale === Number.POSITIVE_INFINITY ? null : stale;
    if (this.pending.size === 0) return next;
    for (const p of this.pending.values()) {
      if (next === null || p.nextRequestAt < next) next = p.nextRequestAt;
    }
    return next;
  }

  /** When the least recently confirmed reachable entry turns stale (Infinity: none). */
  private firstStale(): number {
    if (Number.isNaN(this.freshUntil)) {
      this.freshUntil = Number.POSITIVE_INFINITY;
      for (const e of this.fresh.values()) {
        this.freshUntil = e.confirmedAt + this.timers.reachableMs;
        break;
      }
    }
    return this.freshUntil;
  }

  private turnStale(ip: number, e: Entry): void {
    e.reachable = false;
    this.fresh.delete(ip);
    this.freshUntil = Number.NaN;
  }

  /** Forget everything (link went down for good, or a test reset). */
  clear(): void {
    this.stats.arpQueueDrops += this.queued;
    this.entries.clear();
    this.fresh.clear();
    this.freshUntil = Number.POSITIVE_INFINITY;
    this.pending.clear();
    this.queued = 0;
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    this.entries.delete(oldest.value);
    if (this.fresh.delete(oldest.value)) this.freshUntil = Number.NaN;
  }

  private dropOldestQueued(): void {
    // Take from the destination that has waited longest (Map order is
    // insertion order); its head is the oldest packet it holds.
    for (const p of this.pending.values()) {
      if (p.queue.length === 0) continue;
      p.queue.shift();
      this.queued--;
      this.stats.arpQueueDrops++;
      return;
    }
  }
}
