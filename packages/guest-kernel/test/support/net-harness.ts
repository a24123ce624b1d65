// Test wiring for the network stack: a manual clock, an in-memory link that
// records what the stack transmits, and a hub that carries frames between
// hosts the way a virtio-net device pair would (including checksum offload:
// a NEEDS_CSUM frame arrives DATA_VALID at a receiver that acked GUEST_CSUM,
// and completed in the receiver's copy otherwise).

import { completeChecksum, deriveMac, netFeatures, rxChecksumAction } from '@pvkit/virtio-ring';
import {
  type InterfaceOptions,
  type NetInterface,
  type NetLink,
  NetStack,
  type TxOptions,
} from '../../src/net/index.ts';

export class ManualClock {
  t = 1_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface SentFrame {
  frame: Uint8Array;
  needsCsum?: { start: number; offset: number };
}

export class MemLink implements NetLink {
  readonly mac: Uint8Array;
  readonly mtu: number;
  txCsumOffload: boolean;
  /** Frames transmitted and not yet carried anywhere (copies). */
  sent: SentFrame[] = [];
  /** Simulate a full tx queue. */
  full = false;

  constructor(mac: Uint8Array, mtu = 1500, txCsumOffload = false) {
    this.mac = mac;
    this.mtu = mtu;
    this.txCsumOffload = txCsumOffload;
  }

  transmit(frame: Uint8Array, opts: TxOptions): boolean {
    if (this.full) return false;
    const needsCsum = opts.needsCsum ? { ...opts.needsCsum } : undefined;
    this.sent.push({ frame: frame.slice(), needsCsum });
    return true;
  }

  take(): SentFrame[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

export interface Host {
  name: string;
  stack: NetStack;
  iface: NetInterface;
  link: MemLink;
  /** Receiver side of offload: whether this host's driver acked GUEST_CSUM. */
  guestCsum: boolean;
}

export interface HostOptions extends Partial<InterfaceOptions> {
  ip: string;
  mtu?: number;
  offload?: boolean;
  guestCsum?: boolean;
}

export function makeHost(name: string, clock: ManualClock, opts: HostOptions): Host {
  const link = new MemLink(deriveMac(name), opts.mtu ?? 1500, opts.offload ?? false);
  const stack = new NetStack({ clock });
  const iface = stack.addInterface(link, opts);
  iface.setLinkUp(true);
  return { name, stack, iface, link, guestCsum: opts.guestCsum ?? false };
}

/**
 * Deliver one sent frame to a receiver as a virtio-net device would: the
 * receiver gets its own copy, with the checksum completed or marked valid
 * according to what its driver acked.
 */
export function deliver(sent: SentFrame, to: Host): void {
  const copy = sent.frame.slice();
  const acked = to.guestCsum ? netFeatures('GUEST_CSUM') : 0n;
  const action = rxChecksumAction(sent.needsCsum !== undefined, acked);
  if (action === 'complete') {
    const { start, offset } = sent.needsCsum!;
    if (completeChecksum(copy, 0, copy.length, start, offset) !== null) return;
  }
  to.iface.receive(copy, { dataValid: action === 'data-valid' });
}

/** A hub: every frame goes to every other host, until nobody has anything to send. */
export function pump(hosts: Host[], maxRounds = 100): number {
  let moved = 0;
  for (let round = 0; round < maxRounds; round++) {
    let any = false;
    for (const from of hosts) {
      for (const sent of from.link.take()) {
        any = true;
        moved++;
        for (const to of hosts) if (to !== from) deliver(sent, to);
      }
    }
    if (!any) return moved;
  }
  throw new Error('frames still moving after maxRounds: a loop?');
}

/** Hex string (spaces and newlines ignored) to bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
