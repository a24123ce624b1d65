// One network interface: a link, an IPv4 address, its ARP table and stats.
//
// Receive is a straight line: Ethernet → ARP or IPv4 → ICMP here, UDP up to
// the socket layer. Every check that fails bumps one counter and returns;
// nothing on this path throws on a bad frame. Transmit builds each frame in
// one scratch buffer per interface (`tx`); the link copies it out before
// transmit() returns, so a send allocates nothing unless the packet has to
// wait for ARP.

import {
  BROADCAST_MAC,
  ETH_HLEN,
  internetChecksum,
  macEquals,
  macIsBroadcast,
  macIsMulticast,
  NET_HDR_SIZE,
  NET_MTU_MAX,
  NET_MTU_MIN,
} from '@pvkit/virtio-ring';
import { IPV4_BROADCAST, type IpConfig, ipConfig, isMulticastIpv4, parseIpv4 } from './addr.ts';
import { ARP_LEN, ArpOffset, ArpOp, arpOp, arpSpa, arpTpa, isValidArp, writeArp } from './arp.ts';
import { ArpCache, type ArpTimers } from './arp-cache.ts';
import { EtherType, readEtherType, writeEthDst, writeEthSrcType } from './ethernet.ts';
import {
  echoId,
  echoSeq,
  finishEcho,
  ICMP_ECHO_HLEN,
  IcmpType,
  icmpCode,
  icmpType,
} from './icmp.ts';
import {
  DEFAULT_TTL,
  emptyIpv4Header,
  IPV4_HLEN,
  IpProto,
  type Ipv4Header,
  parseIpv4Header,
  writeIpv4,
} from './ipv4.ts';
import { NetStats } from './stats.ts';
import type { NetClock, NetError, NetLink, RxOptions, TxOptions } from './types.ts';

/** Where an IP payload starts in a frame we build: after Ethernet and a 20-byte IPv4 header. */
export const IP_PAYLOAD_OFFSET = ETH_HLEN + IPV4_HLEN;

/**
 * Where, modulo 8, the frames we build start in memory. A virtio-net frame
 * sits right behind its 12-byte header in 8-aligned buffers, so it starts
 * at 4 mod 8 in every tx slot and rx buffer. V8 copies between a
 * SharedArrayBuffer (guest memory) and anything else word by word only when
 * both ends agree modulo 8, byte by byte otherwise: about 4x slower for a
 * 1514-byte frame. So the scratch frame lives at the same phase.
 */
export const FRAME_ALIGN_PHASE = NET_HDR_SIZE & 7;

/** What the interface hands up to the socket layer; NetStack implements it. */
export interface TransportInput {
  udpInput(
    iface: NetInterface,
    buf: Uint8Array,
    off: number,
    len: number,
    ip: Ipv4Header,
    dataValid: boolean,
  ): void;
  echoReplyInput(
    iface: NetInterface,
    buf: Uint8Array,
    off: number,
    len: number,
    ip: Ipv4Header,
  ): void;
}

export interface InterfaceOptions {
  /** "A.B.C.D/prefix" or a parsed config. */
  ip: string | IpConfig;
  /** Default gateway (on the interface's subnet); without one only the subnet is reachable. */
  gateway?: string | number;
  name?: string;
  arp?: Partial<ArpTimers>;
}

export class NetInterface {
  declare readonly name: string;
  declare readonly link: NetLink;
  declare readonly mac: Uint8Array;
  declare readonly mtu: number;
  declare readonly ip: IpConfig;
  declare readonly gateway: number | null;
  readonly stats = new NetStats();
  declare readonly arp: ArpCache;

  private up = false;
  declare private readonly clock: NetClock;
  declare private readonly upper: TransportInput;
  declare private readonly tx: Uint8Array;
  /** The last view of `tx` handed to the link (reused while the length stays). */
  declare private txView: Uint8Array;
  private readonly arpTx = new Uint8Array(ETH_HLEN + ARP_LEN);
  private readonly rxIp = emptyIpv4Header();
  private readonly peerMac = new Uint8Array(6);
  private readonly noOpts: TxOptions = {};
  private readonly csumOpts = { needsCsum: { start: 0, offset: 0 } };
  private ipId = 0;

  constructor(link: NetLink, clock: NetClock, upper: TransportInput, opts: InterfaceOptions) {
    if (link.mac.length !== 6) throw new RangeError('link MAC must be 6 bytes');
    if (!Number.isInteger(link.mtu) || link.mtu < NET_MTU_MIN || link.mtu > NET_MTU_MAX) {
      throw new RangeError(`link MTU ${link.mtu} outside ${NET_MTU_MIN}..${NET_MTU_MAX}`);
    }
    this.link = link;
    this.clock = clock;
    this.upper = upper;
    this.name = opts.name ?? 'eth0';
    this.mac = link.mac.slice(0, 6);
    this.mtu = link.mtu;
    this.ip = typeof opts.ip === 'string' ? ipConfig(opts.ip) : opts.ip;
    this.gateway = parseGateway(opts.gateway, this.ip);
    this.tx = new Uint8Array(
      new ArrayBuffer(FRAME_ALIGN_PHASE + ETH_HLEN + this.mtu),
      FRAME_ALIGN_PHASE,
      ETH_HLEN + this.mtu,
    );
    this.txView = this.tx;
    // Every frame built in `tx` is IPv4 from us: its source and type are written once.
    writeEthSrcType(this.tx, 0, this.mac, EtherType.IPV4);
    this.arp = new ArpCache(this.stats, (ip) => this.sendArpRequest(ip), opts.arp);
  }

  get linkUp(): boolean {
    return this.up;
  }

  /** The driver reports link state; going up announces us with a gratuitous ARP. */
  setLinkUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (up && this.sendArp(ArpOp.REQUEST, BROADCAST_MAC, null, this.ip.addr)) {
      this.stats.arpGratuitousSent++;
    }
  }

  /** Whether `dst` is on this interface's subnet or behind its gateway. */
  canReach(dst: number): boolean {
    return this.onLink(dst) || this.gateway !== null;
  }

  isBroadcast(dst: number): boolean {
    return dst === IPV4_BROADCAST || dst === this.ip.broadcast;
  }

  /** Deliver one received frame. `frame` is only read during the call. */
  receive(frame: Uint8Array, opts?: RxOptions): void {
    this.receiveAt(frame, 0, frame.length, opts?.dataValid === true);
  }

  /** receive() for a frame inside a larger buffer, without a view per frame. */
  receiveAt(buf: Uint8Array, off: number, len: number, dataValid: boolean): void {
    const s = this.stats;
    s.rxFrames++;
    s.rxBytes += len;
    if (!this.up) {
      s.rxLinkDown++;
      return;
    }
    if (len < ETH_HLEN || off < 0 || off + len > buf.length) {
      s.rxMalformed++;
      return;
    }
    if (!macEquals(buf, off, this.mac, 0) && !macIsBroadcast(buf, off)) {
      s.rxNotForUs++;
      return;
    }
    const type = readEtherType(buf, off);
    if (type === EtherType.IPV4) this.ipInput(buf, off + ETH_HLEN, len - ETH_HLEN, dataValid);
    else if (type === EtherType.ARP) this.arpInput(buf, off + ETH_HLEN, len - ETH_HLEN);
    else s.rxUnknownEtherType++;
  }

  /** The scratch frame: write an IP payload at IP_PAYLOAD_OFFSET, then call sendIpv4(). */
  txBuffer(): Uint8Array {
    return this.tx;
  }

  /**
   * Send the `payloadLen` bytes already at txBuffer()[IP_PAYLOAD_OFFSET..] to
   * `dst`. With `needsCsum` (offsets from the frame start) the device fills
   * in the L4 checksum. Returns `payloadLen` once the packet is on the link
   * or waiting for ARP, or why it was refused.
   */
  sendIpv4(
    dst: number,
    proto: number,
    ttl: number,
    payloadLen: number,
    needsCsum: { start: number; offset: number } | null,
    src = this.ip.addr,
  ): number | NetError {
    if (!this.up) return 'ENETDOWN';
    const total = IPV4_HLEN + payloadLen;
    if (total > this.mtu) return 'EMSGSIZE';
    const bcast = this.isBroadcast(dst);
    let nextHop = dst;
    if (!bcast && !this.onLink(dst)) {
      if (this.gateway === null) {
        this.stats.ipNoRoute++;
        return 'ENETUNREACH';
      }
      nextHop = this.gateway;
    }
    const f = this.tx;
    const len = ETH_HLEN + total;
    writeIpv4(f, ETH_HLEN, total, this.ipId++, ttl, proto, src, dst);
    let opts = this.noOpts;
    if (needsCsum !== null) {
      this.csumOpts.needsCsum.start = needsCsum.start;
      this.csumOpts.needsCsum.offset = needsCsum.offset;
      opts = this.csumOpts;
    }
    // A reachable neighbour needs no clock read (the ARP timers turn it stale).
    let mac = bcast ? BROADCAST_MAC : this.arp.reachable(nextHop);
    let now = 0;
    if (mac === null) {
      now = this.clock.now();
      mac = this.arp.lookup(nextHop, now);
    }
    if (mac !== null) {
      writeEthDst(f, 0, mac);
      return this.transmitFrame(f, len, opts) ? payloadLen : 'ENOBUFS';
    }
    // Unresolved: a copy waits in the ARP queue (tx is reused by the next send).
    const queuedOpts: TxOptions = needsCsum === null ? {} : { needsCsum: { ...needsCsum } };
    this.arp.enqueue(nextHop, f.slice(0, len), queuedOpts, now);
    return payloadLen;
  }

  /** Run expired timers (ARP retries). The stack calls this from its tick(). */
  tick(now: number): void {
    this.arp.tick(now);
  }

  nextDeadline(): number | null {
    return this.arp.nextDeadline();
  }

  /** Whether `dst` is on this interface's subnet (its own address and broadcast included). */
  onLink(dst: number): boolean {
    return (dst & this.ip.mask) >>> 0 === this.ip.network;
  }

  private transmitFrame(frame: Uint8Array, len: number, opts: TxOptions): boolean {
    let view = frame;
    if (len !== frame.length) {
      // A stream of same-sized packets reuses one view of the scratch frame.
      if (frame !== this.tx) view = frame.subarray(0, len);
      else if (this.txView.length === len) view = this.txView;
      else view = this.txView = frame.subarray(0, len);
    }
    if (!this.link.transmit(view, opts)) {
      this.stats.txNoBuffer++;
      return false;
    }
    this.stats.txFrames++;
    this.stats.txBytes += len;
    return true;
  }

  // ARP frames have their own small buffer: a refresh request can go out in
  // the middle of building a packet in `tx`.
  private sendArp(op: number, ethDst: Uint8Array, tha: Uint8Array | null, tpa: number): boolean {
    const f = this.arpTx;
    writeEthDst(f, 0, ethDst);
    writeEthSrcType(f, 0, this.mac, EtherType.ARP);
    writeArp(f, ETH_HLEN, op, this.mac, this.ip.addr, tha, tpa);
    return this.transmitFrame(f, f.length, this.noOpts);
  }

  private sendArpRequest(ip: number): void {
    if (this.up && this.sendArp(ArpOp.REQUEST, BROADCAST_MAC, null, ip)) {
      this.stats.arpRequestsSent++;
    }
  }

  private arpInput(buf: Uint8Array, a: number, avail: number): void {
    const s = this.stats;
    if (!isValidArp(buf, a, avail)) {
      s.rxMalformed++;
      return;
    }
    const op = arpOp(buf, a);
    if (op === ArpOp.REQUEST) s.arpRequestsIn++;
    else s.arpRepliesIn++;
    const sha = a + ArpOffset.SHA;
    const spa = arpSpa(buf, a);
    if (
      macIsMulticast(buf, sha) ||
      macEquals(buf, sha, this.mac, 0) ||
      spa === IPV4_BROADCAST ||
      isMulticastIpv4(spa)
    ) {
      s.arpIgnored++;
      return;
    }
    if (spa === this.ip.addr) {
      s.arpConflicts++;
      return;
    }
    // Copy what we need before sending anything: a synchronous link may
    // reuse the buffer the request came in.
    for (let i = 0; i < 6; i++) this.peerMac[i] = buf[sha + i];
    const forUs = arpTpa(buf, a) === this.ip.addr;
    // spa 0.0.0.0 is an address probe (RFC 5227): answer it, learn nothing.
    const released =
      spa === 0 ? null : this.arp.confirm(spa, this.peerMac, 0, this.clock.now(), forUs);
    if (op === ArpOp.REQUEST && forUs) {
      if (this.sendArp(ArpOp.REPLY, this.peerMac, this.peerMac, spa)) s.arpRepliesSent++;
    }
    if (released !== null) {
      for (const q of released) this.transmitFrame(q.frame, q.frame.length, q.opts);
    }
  }

  private ipInput(buf: Uint8Array, p: number, avail: number, dataValid: boolean): void {
    const s = this.stats;
    const h = this.rxIp;
    const err = parseIpv4Header(buf, p, avail, h);
    if (err !== null) {
      if (err === 'malformed') s.rxMalformed++;
      else if (err === 'bad-checksum') s.ipBadChecksum++;
      else s.ipFragmentsDropped++;
      return;
    }
    const bcast = this.isBroadcast(h.dst);
    if (h.dst !== this.ip.addr && !bcast) {
      s.ipNotForUs++;
      return;
    }
    const src = h.src;
    if (src === 0 || this.isBroadcast(src) || isMulticastIpv4(src) || src === this.ip.addr) {
      s.ipBadSource++;
      return;
    }
    const l4 = p + h.headerLen;
    const l4Len = h.totalLen - h.headerLen;
    if (h.proto === IpProto.UDP) this.upper.udpInput(this, buf, l4, l4Len, h, dataValid);
    else if (h.proto === IpProto.ICMP) this.icmpInput(buf, l4, l4Len, bcast);
    else s.ipUnknownProto++;
  }

  private icmpInput(buf: Uint8Array, m: number, len: number, bcast: boolean): void {
    const s = this.stats;
    if (len < ICMP_ECHO_HLEN) {
      s.rxMalformed++;
      return;
    }
    if (internetChecksum(buf, m, m + len) !== 0) {
      s.icmpBadChecksum++;
      return;
    }
    const type = icmpType(buf, m);
    if (type === IcmpType.ECHO_REQUEST && icmpCode(buf, m) === 0) {
      s.icmpEchoRequestsIn++;
      // Like Linux's icmp_echo_ignore_broadcasts: no smurf amplifier here.
      if (bcast) s.icmpBroadcastIgnored++;
      else this.echoReply(buf, m, len);
    } else if (type === IcmpType.ECHO_REPLY) {
      s.icmpEchoRepliesIn++;
      this.upper.echoReplyInput(this, buf, m, len, this.rxIp);
    } else {
      s.icmpOtherTypes++;
    }
  }

  private echoReply(buf: Uint8Array, m: number, len: number): void {
    if (IPV4_HLEN + len > this.mtu) {
      this.stats.rxMalformed++;
      return;
    }
    const f = this.tx;
    const at = IP_PAYLOAD_OFFSET;
    f.set(buf.subarray(m, m + len), at);
    finishEcho(f, at, len, IcmpType.ECHO_REPLY, echoId(f, at), echoSeq(f, at));
    const r = this.sendIpv4(this.rxIp.src, IpProto.ICMP, DEFAULT_TTL, len, null);
    if (r === len) this.stats.icmpEchoRepliesOut++;
  }
}

function parseGateway(gw: string | number | undefined, ip: IpConfig): number | null {
  if (gw === undefined) return null;
  const addr = typeof gw === 'number' ? gw >>> 0 : parseIpv4(gw);
  if (addr === null) throw new RangeError(`gateway "${gw}" is not an IPv4 address`);
  if ((addr & ip.mask) >>> 0 !== ip.network || addr === ip.addr) {
    throw new RangeError(`gateway ${gw} is not a neighbour on the interface's subnet`);
  }
  return addr;
}
