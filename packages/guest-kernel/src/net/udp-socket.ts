// A UDP socket: a port binding plus a bounded receive queue.
//
// The queue is one byte ring (allocated on first use) and a ring of
// per-datagram records, bounded both in bytes and in datagrams, like
// SO_RCVBUF. A datagram that does not fit is dropped and counted; nothing
// blocks. Receiving copies into the caller's buffer, so the steady state
// allocates nothing.
//
// Blocking is the kernel's job: it checks `readable` (or gets `onReadable`
// when the queue becomes non-empty) and parks the task on its wait queue,
// with its own deadline for a recvfrom timeout.

import { copyBytes } from './bytes.ts';
import { DEFAULT_TTL } from './ipv4.ts';
import type { NetError } from './types.ts';

/** The hooks a socket needs from its stack (NetStack implements them). */
export interface UdpSocketHost {
  bindUdp(sock: UdpSocket, port: number, addr: number): NetError | null;
  unbindUdp(sock: UdpSocket): void;
  sendUdp(sock: UdpSocket, payload: Uint8Array, dst: number, dstPort: number): number | NetError;
}

export interface UdpSocketOptions {
  /** Receive queue bytes (default 256 KiB). */
  rcvBytes?: number;
  /** Receive queue datagrams (default 512). */
  rcvDatagrams?: number;
}

/** Where a datagram came from; pass one to recvFrom() and reuse it. */
export interface UdpFrom {
  addr: number;
  port: number;
}

export interface UdpDatagram {
  data: Uint8Array;
  srcAddr: number;
  srcPort: number;
  /** The address it was sent to: ours, or a broadcast address. */
  dstAddr: number;
}

export class UdpSocket {
  /** 0 = any address. */
  localAddr = 0;
  /** 0 = not bound yet (sendTo binds an ephemeral port). */
  localPort = 0;
  /** TTL of datagrams sent (1..255). */
  ttl = DEFAULT_TTL;
  /** Allow sending to broadcast addresses (SO_BROADCAST). */
  broadcast = false;
  /** Datagrams dropped because the queue was full. */
  drops = 0;
  /** Called when the queue goes from empty to non-empty; keep it short, it runs inside receive. */
  onReadable: (() => void) | null = null;

  declare private readonly host: UdpSocketHost;
  private closed = false;
  declare private readonly capBytes: number;
  declare private readonly capCount: number;
  private ring: Uint8Array | null = null;
  private tail = 0;
  private usedBytes = 0;
  private first = 0;
  private count = 0;
  declare private readonly qOff: Int32Array;
  declare private readonly qLen: Int32Array;
  declare private readonly qSrc: Uint32Array;
  declare private readonly qDst: Uint32Array;
  declare private readonly qPort: Uint16Array;

  constructor(host: UdpSocketHost, opts: UdpSocketOptions = {}) {
    this.host = host;
    this.capBytes = opts.rcvBytes ?? 256 * 1024;
    this.capCount = opts.rcvDatagrams ?? 512;
    if (!(this.capBytes >= 1 && this.capCount >= 1))
      throw new RangeError('queue bounds must be >= 1');
    this.qOff = new Int32Array(this.capCount);
    this.qLen = new Int32Array(this.capCount);
    this.qSrc = new Uint32Array(this.capCount);
    this.qDst = new Uint32Array(this.capCount);
    this.qPort = new Uint16Array(this.capCount);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Datagrams waiting. */
  get queued(): number {
    return this.count;
  }

  get readable(): boolean {
    return this.count > 0;
  }

  /** Bind to `port` (0 = an ephemeral port) on `addr` (0 = any of ours). */
  bind(port = 0, addr = 0): NetError | null {
    if (this.closed) return 'EBADF';
    if (this.localPort !== 0) return 'EINVAL';
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return 'EINVAL';
    return this.host.bindUdp(this, port, addr >>> 0);
  }

  /** Send one datagram; returns its length or why not. Binds an ephemeral port first if needed. */
  sendTo(payload: Uint8Array, addr: number, port: number): number | NetError {
    if (this.closed) return 'EBADF';
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return 'EINVAL';
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > 255) return 'EINVAL';
    if (this.localPort === 0) {
      const err = this.bind(0);
      if (err !== null) return err;
    }
    return this.host.sendUdp(this, payload, addr >>> 0, port);
  }

  /**
   * Take the oldest datagram: copy it into `into` and its source into
   * `from`. Returns the datagram's full length; if that is more than
   * `into.length` the rest was cut off (as MSG_TRUNC reports it).
   */
  recvFrom(into: Uint8Array, from?: UdpFrom): number | NetError {
    if (this.closed) return 'EBADF';
    if (this.count === 0) return 'EAGAIN';
    const i = this.first;
    const len = this.qLen[i];
    const off = this.qOff[i];
    const n = Math.min(len, into.length);
    if (n > 0) copyBytes(into, 0, this.ring!, off, n);
    if (from) {
      from.addr = this.qSrc[i];
      from.port = this.qPort[i];
    }
    this.dequeue();
    return len;
  }

  /** Non-blocking receive that allocates the datagram: for code that is not on a hot path. */
  tryRecv(): UdpDatagram | null {
    if (this.closed || this.count === 0) return null;
    const i = this.first;
    const off = this.qOff[i];
    const d: UdpDatagram = {
      data: this.ring!.slice(off, off + this.qLen[i]),
      srcAddr: this.qSrc[i],
      srcPort: this.qPort[i],
      dstAddr: this.qDst[i],
    };
    this.dequeue();
    return d;
  }

  /** Release the port and the queue. Further calls return EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unbindUdp(this);
    this.ring = null;
    this.count = 0;
    this.usedBytes = 0;
    this.onReadable = null;
  }

  /** Queue a received datagram (the stack calls this); false if it was dropped. */
  deliver(
    buf: Uint8Array,
    off: number,
    len: number,
    src: number,
    srcPort: number,
    dst: number,
  ): boolean {
    if (this.closed) return false;
    // The copy keeps the source's phase modulo 8: a copy out of guest memory
    // (a SharedArrayBuffer) is then word by word, not byte by byte.
    const at = this.count < this.capCount ? this.place(len, (buf.byteOffset + off) & 7) : -1;
    if (at < 0) {
      this.drops++;
      return false;
    }
    if (len > 0) copyBytes(this.ring!, at, buf, off, len);
    const i = (this.first + this.count) % this.capCount;
    this.qOff[i] = at;
    this.qLen[i] = len;
    this.qSrc[i] = src;
    this.qDst[i] = dst;
    this.qPort[i] = srcPort;
    this.tail = at + len;
    this.usedBytes += len;
    this.count++;
    if (this.count === 1) this.onReadable?.();
    return true;
  }

  /**
   * Offset in the ring where `len` bytes fit contiguously, at `phase`
   * modulo 8 (up to 7 bytes are skipped), or -1. Records sit in ring order
   * from `first` (at `head`) to the newest (ending at `tail`); once a record
   * wraps to the front, tail is below head.
   */
  private place(len: number, phase: number): number {
    if (len > this.capBytes) return -1;
    if (phase + len > this.capBytes) phase = 0;
    this.ring ??= new Uint8Array(this.capBytes);
    if (this.count === 0) return phase;
    const head = this.qOff[this.first];
    const tail = this.tail;
    const at = tail + ((phase - tail) & 7);
    const wrapped = tail < head || (tail === head && this.usedBytes > 0);
    if (!wrapped) {
      // Data in [head, tail): room after it, or wrap to the front.
      if (at + len <= this.capBytes) return at;
      return phase + len <= head ? phase : -1;
    }
    // Data in [head, end) and [0, tail): the gap is [tail, head).
    return at + len <= head ? at : -1;
  }

  private dequeue(): void {
    this.usedBytes -= this.qLen[this.first];
    this.first = (this.first + 1) % this.capCount;
    this.count--;
    if (this.count === 0) {
      this.first = 0;
      this.tail = 0;
    }
  }
}
