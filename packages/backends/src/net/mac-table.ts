// The forwarding database of a learning switch: MAC → port, with ageing.
//
// Bounded twice, so that one hostile guest cannot take the table from the
// others: each port may hold at most `maxPerPort` entries (a port over its
// quota replaces its own oldest entry), and the table at most `maxEntries`
// (when full, new addresses are not learned and their frames keep being
// flooded: correct, just slower, until entries age out). A guest that sends
// from random source MACs therefore only churns its own share.
//
// MACs are keys from `macToKey` (a 48-bit integer), so learning and lookup
// on the per-frame path build no strings and, for a known source on the
// same port, allocate nothing.

export interface MacTableOptions {
  /** Entries unused this long are forgotten (Linux bridge default: 300 s). */
  ageingMs?: number;
  maxEntries?: number;
  maxPerPort?: number;
}

interface Entry {
  port: number;
  seenAt: number;
}

export class MacTable {
  declare readonly ageingMs: number;
  declare readonly maxEntries: number;
  declare readonly maxPerPort: number;
  /** New addresses not learned because the table was full. */
  refused = 0;
  /** Entries replaced because their port was over its quota. */
  quotaEvictions = 0;
  /** Addresses seen moving from one port to another. */
  moves = 0;

  private readonly entries = new Map<number, Entry>();
  // Per port, its keys in learning order: the first is the one to evict.
  private readonly byPort = new Map<number, Set<number>>();

  constructor(opts: MacTableOptions = {}) {
    this.ageingMs = opts.ageingMs ?? 300_000;
    this.maxEntries = opts.maxEntries ?? 8192;
    this.maxPerPort = opts.maxPerPort ?? 1024;
    if (!(this.maxEntries >= 1 && this.maxPerPort >= 1 && this.ageingMs > 0)) {
      throw new RangeError('MAC table bounds and ageing must be positive');
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries currently learned on `port`. */
  countOn(port: number): number {
    return this.byPort.get(port)?.size ?? 0;
  }

  /** Record that `key` was seen as a source on `port`. */
  learn(key: number, port: number, now: number): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.port === port) {
      e.seenAt = now;
      return;
    }
    if (e !== undefined) {
      // The station moved (or someone spoofs it): the newest sighting wins,
      // as on a hardware switch.
      this.moves++;
      this.remove(key, e.port);
    } else if (this.entries.size >= this.maxEntries) {
      this.refused++;
      return;
    }
    let keys = this.byPort.get(port);
    if (keys === undefined) {
      keys = new Set();
      this.byPort.set(port, keys);
    }
    if (keys.size >= this.maxPerPort) {
      const oldest = keys.values().next().value!;
      this.remove(oldest, port);
      this.quotaEvictions++;
    }
    keys.add(key);
    this.entries.set(key, { port, seenAt: now });
  }

  /** The port `key` was last seen on, or -1 if unknown or aged out. */
  lookup(key: number, now: number): number {
    const e = this.entries.get(key);
    if (e === undefined) return -1;
    if (now - e.seenAt >= this.ageingMs) {
      this.remove(key, e.port);
      return -1;
    }
    return e.port;
  }

  /** Forget aged entries; returns how many. Call from a periodic timer (every few seconds). */
  sweep(now: number): number {
    let removed = 0;
    for (const [key, e] of this.entries) {
      if (now - e.seenAt >= this.ageingMs) {
        this.remove(key, e.port);
        removed++;
      }
    }
    return removed;
  }

  /** Forget everything learned on `port` (it was unplugged or reset). */
  flushPort(port: number): void {
    const keys = this.byPort.get(port);
    if (keys === undefined) return;
    for (const key of keys) this.entries.delete(key);
    this.byPort.delete(port);
  }

  private remove(key: number, port: number): void {
    this.entries.delete(key);
    this.byPort.get(port)?.delete(key);
  }
}
