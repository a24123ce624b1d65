// The device half under observation. DeviceHarness wraps a real DeviceQueue
// and keeps a model beside it of what the device may do: which avail entry
// comes next and when avail.idx is (re)loaded (device-queue.ts documents
// both), which heads it holds, and exactly which used-ring bytes each push
// and publish write. Every outcome is checked against the model; every chain
// against the rules (in range, readable first, within N and 2^32) and, when
// no driver raced the walk, against the plain reference reader.
import {
  type DescriptorChain,
  DeviceQueue,
  type DeviceQueueOptions,
  isMalformed,
  type QueueAddresses,
  type Segment,
  VirtqueueError,
  type VirtqueueErrorKind,
} from '../../packages/virtio-ring/src/index.ts';
import { modelChain } from './chain-model.ts';
import type { FuzzGuest } from './guest.ts';
import { RawRing } from './ring-gen.ts';
import type { Rng } from './rng.ts';
import { check, InvariantError } from './runner.ts';
import { count } from './stats.ts';

const SETUP_KINDS: readonly VirtqueueErrorKind[] = [
  'bad-queue-size',
  'ring-misaligned',
  'ring-out-of-range',
];
const QUEUE_KINDS: readonly VirtqueueErrorKind[] = [
  'avail-index-jump',
  'head-out-of-range',
  'head-in-flight',
];

/** What one pop gave: nothing, a broken queue, or a head with its chain (null: malformed). */
export type PopResult =
  | { t: 'empty' }
  | { t: 'broken' }
  | { t: 'chain'; head: number; chain: DescriptorChain | null };

export class DeviceHarness {
  readonly g: FuzzGuest;
  readonly ring: RawRing;
  readonly dev: DeviceQueue;
  readonly n: number;
  private readonly indirect: boolean;
  /** Held heads and their writable bytes. */
  readonly held = new Map<number, number>();
  // The model of DeviceQueue's indices (mod 2^16).
  private devLast = 0;
  private devShadow = 0;
  private nextUsed = 0;
  private publishedUsed = 0;
  broken: VirtqueueError | null = null;

  private constructor(g: FuzzGuest, q: QueueAddresses, dev: DeviceQueue, indirect: boolean) {
    this.g = g;
    this.ring = new RawRing(g, q);
    this.dev = dev;
    this.n = q.size;
    this.indirect = indirect;
  }

  /** A device on `q`, or null when the device refused the setup (with a setup error: allowed). */
  static open(g: FuzzGuest, q: QueueAddresses, opts: DeviceQueueOptions): DeviceHarness | null {
    let dev: DeviceQueue;
    try {
      dev = new DeviceQueue(g.mem, q, opts);
    } catch (e) {
      if (e instanceof VirtqueueError && SETUP_KINDS.includes(e.kind)) {
        count(`setup refused: ${e.kind}`);
        return null;
      }
      throw e;
    }
    return new DeviceHarness(g, q, dev, opts.indirect ?? false);
  }

  /** What popHead must do now, by the model; advances the model like the device. */
  private expectPop():
    | { t: 'empty' }
    | { t: 'throw'; kind: VirtqueueErrorKind }
    | { t: 'head'; head: number } {
    if (this.devLast === this.devShadow) {
      const idx = this.g.r16(this.ring.availIdxAddr);
      if (idx === this.devLast) return { t: 'empty' };
      if (((idx - this.devLast) & 0xffff) > this.n) return { t: 'throw', kind: 'avail-index-jump' };
      this.devShadow = idx;
    }
    const head = this.g.r16(this.ring.availSlotAddr(this.devLast));
    this.devLast = (this.devLast + 1) & 0xffff;
    if (head >= this.n) return { t: 'throw', kind: 'head-out-of-range' };
    if (this.held.has(head)) return { t: 'throw', kind: 'head-in-flight' };
    return { t: 'head', head };
  }

  /**
   * Pop one entry. `race` (optional) runs on every mem.size read during the
   * walk: the driver rewriting memory while the device reads it. Returns
   * true from `race` when it wrote something (the reference check is then off).
   */
  pop(rng: Rng, race: (() => boolean) | null = null): PopResult {
    if (this.broken !== null) {
      const e = catchVq(() => this.dev.popHead());
      check(e === this.broken, `popHead on a broken queue must throw its error again, got ${e}`);
      check(!this.dev.hasAvailable(), 'a broken queue must not report available entries');
      return { t: 'broken' };
    }
    const want = this.expectPop();
    const view = this.g.mem.view;
    const ref =
      want.t === 'head'
        ? modelChain(view, this.g.size, this.n, this.ring.q.desc, this.indirect, want.head)
        : null;
    let raced = false;
    if (race) this.g.race(() => void (raced = race() || raced));
    const asObject = rng.bool();
    let got: ReturnType<DeviceQueue['pop']> | number = null;
    let err: unknown = null;
    try {
      got = asObject ? this.dev.pop() : this.dev.popHead();
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      err = e;
    } finally {
      this.g.race(null);
    }
    if (want.t === 'throw') {
      check(
        err instanceof VirtqueueError && err.kind === want.kind,
        () => `expected ${want.kind}, got ${err ?? JSON.stringify(got)}`,
      );
      check(this.dev.broken === err, 'the error that stopped the queue must be `broken`');
      this.broken = err as VirtqueueError;
      count(`queue broken: ${want.kind}`);
      return { t: 'broken' };
    }
    check(err === null, () => `unexpected ${err} (model: ${want.t})`);
    if (want.t === 'empty') {
      check(got === null || got === -1, () => `empty ring, yet pop gave ${JSON.stringify(got)}`);
      count('pop: empty');
      return { t: 'empty' };
    }
    const head = typeof got === 'number' ? got : (got?.head ?? -1);
    check(head === want.head, `avail entry holds head ${want.head}, pop gave ${head}`);
    const chain = typeof got === 'number' ? this.readerChain(got) : got;
    if (chain === null || isMalformed(chain)) {
      const e: unknown = chain === null ? this.dev.chain.error : chain.error;
      if (!(e instanceof VirtqueueError) || e.head !== head)
        throw new InvariantError('malformed chain without its error');
      check(
        !QUEUE_KINDS.includes(e.kind) && !SETUP_KINDS.includes(e.kind),
        `chain error ${e.kind}`,
      );
      check(raced || ref?.ok === false, () => `reader refused (${e.message}), reference accepts`);
      this.held.set(head, 0);
      check(
        this.dev.inFlight === this.held.size,
        `inFlight ${this.dev.inFlight} != ${this.held.size}`,
      );
      count(`chain refused: ${e.kind}${raced ? ' (raced)' : ''}`);
      return { t: 'chain', head, chain: null };
    }
    this.checkChain(chain);
    if (!raced && ref !== null) {
      check(ref.ok, () => `reader accepts head ${head}, reference refuses: ${!ref.ok && ref.why}`);
      check(
        sameSegments(ref.segments, chain.segments),
        () =>
          `segments differ from the reference: ${JSON.stringify(chain.segments)} vs ${JSON.stringify(ref.segments)}`,
      );
    }
    this.held.set(head, chain.writableLen);
    count(`chain accepted${raced ? ' (raced)' : ''}`);
    count(
      `chain accepted, segments ${Math.min(chain.segments.length, 4)}${chain.segments.length > 4 ? '+' : ''}`,
    );
    check(
      this.dev.inFlight === this.held.size,
      `inFlight ${this.dev.inFlight} != ${this.held.size}`,
    );
    return { t: 'chain', head, chain };
  }

  /** popHead() leaves the chain in the reader's arrays: the same as pop()'s object. */
  private readerChain(head: number): DescriptorChain | null {
    const c = this.dev.chain;
    if (c.error !== null) return null;
    const segments: Segment[] = [];
    for (let i = 0; i < c.count; i++)
      segments.push({ addr: c.addr[i], len: c.len[i], writable: i >= c.readableCount });
    return { head, segments, readableLen: c.readableLen, writableLen: c.writableLen };
  }

  /** Every segment inside declared memory; readable first; sums and counts within limits. */
  private checkChain(c: DescriptorChain): void {
    let r = 0;
    let w = 0;
    let seenW = false;
    check(c.segments.length >= 1 && c.segments.length <= this.n, `${c.segments.length} segments`);
    for (const s of c.segments) {
      const ok =
        Number.isSafeInteger(s.addr) &&
        s.addr >= 0 &&
        s.addr < this.g.size &&
        Number.isInteger(s.len) &&
        s.len >= 0 &&
        s.len <= this.g.size - s.addr;
      check(ok, () => `segment [${s.addr}, +${s.len}) outside ${this.g.size} bytes of memory`);
      check(!(seenW && !s.writable), 'readable segment after a writable one');
      seenW ||= s.writable;
      if (s.writable) w += s.len;
      else r += s.len;
    }
    check(
      r === c.readableLen && w === c.writableLen,
      `lengths ${c.readableLen}/${c.writableLen} != ${r}/${w}`,
    );
    check(r + w <= 2 ** 32, 'chain larger than 2^32 bytes');
  }

  /** Give `head` back with `len` written; the model expects its used element. */
  push(head: number, len: number): void {
    const at = this.ring.usedElemAddr(this.nextUsed);
    this.dev.push(head, len);
    this.g.expect32(at, head);
    this.g.expect32(at + 4, len);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    this.held.delete(head);
    check(
      this.dev.inFlight === this.held.size,
      `inFlight ${this.dev.inFlight} != ${this.held.size}`,
    );
  }

  publish(): void {
    const pending = this.nextUsed !== this.publishedUsed;
    check(
      this.dev.unpublished === ((this.nextUsed - this.publishedUsed) & 0xffff),
      'unpublished count',
    );
    this.dev.publish();
    if (pending) this.g.expect16(this.ring.usedIdxAddr, this.nextUsed);
    else if (this.g.mem.view.getUint16(this.ring.usedIdxAddr, true) === this.nextUsed)
      this.g.accept(this.ring.usedIdxAddr, 2); // storing the same index again is harmless
    this.publishedUsed = this.nextUsed;
    check(this.dev.unpublished === 0, 'entries left unpublished after publish()');
  }

  /** hasAvailable as the model sees it (it loads avail.idx but caches nothing). */
  expectAvailable(): boolean {
    if (this.broken !== null) return false;
    if (this.devLast !== this.devShadow) return true;
    return this.g.r16(this.ring.availIdxAddr) !== this.devLast;
  }

  /** One of the notification calls; answers must be booleans, availability as modelled. */
  notify(rng: Rng): void {
    const d = this.dev;
    switch (rng.int(4)) {
      case 0:
        check(typeof d.interruptNeeded() === 'boolean', 'interruptNeeded: not a boolean');
        break;
      case 1: {
        const want = this.expectAvailable();
        check(d.enableNotifications() === want, `enableNotifications re-check != ${want}`);
        break;
      }
      case 2:
        d.disableNotifications();
        break;
      default: {
        const want = this.expectAvailable();
        check(d.hasAvailable() === want, `hasAvailable != ${want}`);
      }
    }
  }

  /** Device-owned fields (used.flags, avail_event) may change on any call; all else is modelled. */
  checkMemory(when: string): void {
    this.g.accept(this.ring.usedFlagsAddr, 2);
    this.g.accept(this.ring.availEventAddr, 2);
    this.g.checkUnchanged(when, (a) => this.where(a));
    this.g.checkGuard(when);
  }

  private where(a: number): string {
    const q = this.ring.q;
    if (a >= q.used && a < q.used + 6 + 8 * this.n) return ' (used ring)';
    if (a >= q.desc && a < q.desc + 16 * this.n) return ' (descriptor table)';
    if (a >= q.avail && a < q.avail + 6 + 2 * this.n) return ' (avail ring)';
    return '';
  }
}

function catchVq(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof VirtqueueError) return e;
    throw e;
  }
}

function sameSegments(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i].addr !== b[i].addr || a[i].len !== b[i].len || a[i].writable !== b[i].writable)
      return false;
  return true;
}
