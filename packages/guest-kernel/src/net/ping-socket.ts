// A ping socket (like Linux's SOCK_DGRAM/IPPROTO_ICMP): sends echo requests
// with its own identifier and collects the matching replies with their
// round-trip times. Waiting for a reply with a timeout is the kernel's job:
// it polls `readable` or gets `onReadable`, and keeps its own deadline.

import { PING_DEFAULT_PAYLOAD } from './icmp.ts';
import { DEFAULT_TTL } from './ipv4.ts';
import type { NetClock, NetError } from './types.ts';

export interface PingSocketHost {
  sendEcho(
    sock: PingSocket,
    dst: number,
    seq: number,
    payloadLen: number,
    ttl: number,
  ): number | NetError;
  unbindPing(sock: PingSocket): void;
}

export interface EchoReply {
  from: number;
  seq: number;
  /** TTL of the reply as it arrived. */
  ttl: number;
  /** ICMP message bytes (header + data), as ping prints them. */
  bytes: number;
  /** null for a reply to a sequence number we have no send time for (a duplicate, or too old). */
  rttMs: number | null;
  /** Whether the echoed data is what we sent. */
  payloadOk: boolean;
}

/** Send times kept per socket; the oldest is forgotten beyond this. */
const MAX_OUTSTANDING = 1024;
const MAX_REPLIES = 64;

export class PingSocket {
  declare readonly id: number;
  ttl = DEFAULT_TTL;
  /** Replies dropped because nobody collected them. */
  drops = 0;
  onReadable: (() => void) | null = null;

  declare private readonly host: PingSocketHost;
  declare private readonly clock: NetClock;
  private readonly replies: EchoReply[] = [];
  private readonly sentAt = new Map<number, number>();
  private closed = false;

  constructor(host: PingSocketHost, clock: NetClock, id: number) {
    this.host = host;
    this.clock = clock;
    this.id = id;
  }

  get readable(): boolean {
    return this.replies.length > 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Send echo request `seq` (0..65535) with `payloadLen` data bytes; returns bytes sent or why not. */
  send(dst: number, seq: number, payloadLen = PING_DEFAULT_PAYLOAD): number | NetError {
    if (this.closed) return 'EBADF';
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) return 'EINVAL';
    if (!Number.isInteger(payloadLen) || payloadLen < 0) return 'EINVAL';
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > 255) return 'EINVAL';
    // Record the send time first: a reply can arrive inside sendEcho (our own address).
    this.sentAt.delete(seq);
    this.sentAt.set(seq, this.clock.now());
    if (this.sentAt.size > MAX_OUTSTANDING) this.sentAt.delete(this.sentAt.keys().next().value!);
    const r = this.host.sendEcho(this, dst >>> 0, seq, payloadLen, this.ttl);
    if (typeof r !== 'number') this.sentAt.delete(seq);
    return r;
  }

  tryRecv(): EchoReply | null {
    return this.replies.shift() ?? null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unbindPing(this);
    this.replies.length = 0;
    this.onReadable = null;
  }

  /** A reply for our id arrived (the stack calls this). */
  deliver(from: number, seq: number, ttl: number, bytes: number, payloadOk: boolean): void {
    if (this.closed) return;
    if (this.replies.length >= MAX_REPLIES) {
      this.drops++;
      return;
    }
    const sent = this.sentAt.get(seq);
    this.sentAt.delete(seq);
    const rttMs = sent === undefined ? null : this.clock.now() - sent;
    this.replies.push({ from, seq, ttl, bytes, rttMs, payloadOk });
    if (this.replies.length === 1) this.onReadable?.();
  }
}
