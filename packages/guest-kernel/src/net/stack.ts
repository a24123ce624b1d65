// The socket layer over one or more interfaces: routing, the UDP port table,
// ping sockets, and the timers the kernel drives.
//
// Integration contract (see README.md): the kernel creates one NetStack with
// its clock, adds an interface per NIC, feeds received frames to
// iface.receive(), calls tick() when nextDeadline() passes, and blocks tasks
// on socket readiness (`readable` / `onReadable`) with its own wait queues.

import { IPV4_BROADCAST, isMulticastIpv4 } from './addr.ts';
import { echoId, echoSeq, finishEcho, ICMP_ECHO_HLEN, IcmpType, pingPatternByte } from './icmp.ts';
import {
  type InterfaceOptions,
  IP_PAYLOAD_OFFSET,
  NetInterface,
  type TransportInput,
} from './interface.ts';
import { IPV4_HLEN, IpProto, type Ipv4Header } from './ipv4.ts';
import { PingSocket, type PingSocketHost } from './ping-socket.ts';
import type { NetClock, NetError, NetLink } from './types.ts';
import {
  fillUdpChecksum,
  fillUdpPseudoChecksum,
  UDP_CSUM_OFFSET,
  UDP_HLEN,
  udpChecksumOk,
  udpDstPort,
  udpLength,
  udpSrcPort,
  writeUdpHeader,
} from './udp.ts';
import { UdpSocket, type UdpSocketHost, type UdpSocketOptions } from './udp-socket.ts';

/** IANA dynamic port range, used for implicit binds. */
export const EPHEMERAL_FIRST = 49152;
export const EPHEMERAL_LAST = 65535;

/** Offload offsets of a UDP checksum in the frames we build. */
const UDP_NEEDS_CSUM = { start: IP_PAYLOAD_OFFSET, offset: UDP_CSUM_OFFSET } as const;

export class NetStack implements TransportInput, UdpSocketHost, PingSocketHost {
  readonly interfaces: NetInterface[] = [];
  declare private readonly clock: NetClock;
  private readonly udpPorts = new Map<number, UdpSocket>();
  private readonly pings = new Map<number, PingSocket>();
  private nextEphemeral = EPHEMERAL_FIRST;
  private nextPingId = 1;

  constructor(opts: { clock: NetClock }) {
    this.clock = opts.clock;
  }

  /** Attach a NIC. The interface starts with its link down: call setLinkUp(true). */
  addInterface(link: NetLink, opts: InterfaceOptions): NetInterface {
    const iface = new NetInterface(link, this.clock, this, {
      name: `eth${this.interfaces.length}`,
      ...opts,
    });
    if (this.interfaces.some((i) => i.ip.addr === iface.ip.addr)) {
      throw new RangeError(`address ${opts.ip} is already on another interface`);
    }
    this.interfaces.push(iface);
    return iface;
  }

  udpSocket(opts?: UdpSocketOptions): UdpSocket {
    return new UdpSocket(this, opts);
  }

  /** A ping socket with identifier `id` (1..65535), or the next free one. */
  pingSocket(id?: number): PingSocket {
    if (id === undefined) {
      for (let tries = 0; tries < 0xffff && this.pings.has(this.nextPingId); tries++) {
        this.nextPingId = (this.nextPingId % 0xffff) + 1;
      }
      id = this.nextPingId;
      this.nextPingId = (this.nextPingId % 0xffff) + 1;
    }
    if (!Number.isInteger(id) || id < 1 || id > 0xffff || this.pings.has(id)) {
      throw new RangeError(`ping identifier ${id} is invalid or in use`);
    }
    const sock = new PingSocket(this, this.clock, id);
    this.pings.set(id, sock);
    return sock;
  }

  /** Run expired timers. Call when the clock passes nextDeadline(). */
  tick(): void {
    const now = this.clock.now();
    for (const iface of this.interfaces) iface.tick(now);
  }

  /** The earliest time tick() has work to do, or null when no timer is armed. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const iface of this.interfaces) {
      const d = iface.nextDeadline();
      if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }

  /** The interface a packet to `dst` leaves by (from address `src` if bound), or null. */
  route(dst: number, src = 0): NetInterface | null {
    const ifs = this.interfaces;
    if (src !== 0) {
      for (const i of ifs) {
        if (i.ip.addr === src) return i.canReach(dst) || dst === IPV4_BROADCAST ? i : null;
      }
      return null;
    }
    for (const i of ifs) if (i.onLink(dst)) return i;
    if (dst === IPV4_BROADCAST) {
      for (const i of ifs) if (i.linkUp) return i;
      return ifs[0] ?? null;
    }
    for (const i of ifs) if (i.gateway !== null) return i;
    return null;
  }

  // ---- UdpSocketHost ----

  bindUdp(sock: UdpSocket, port: number, addr: number): NetError | null {
    if (addr !== 0 && !this.interfaces.some((i) => i.ip.addr === addr)) return 'EADDRNOTAVAIL';
    if (port === 0) {
      const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
      for (let tries = 0; tries < span && port === 0; tries++) {
        const candidate = this.nextEphemeral;
        this.nextEphemeral = candidate === EPHEMERAL_LAST ? EPHEMERAL_FIRST : candidate + 1;
        if (!this.udpPorts.has(candidate)) port = candidate;
      }
      if (port === 0) return 'EADDRINUSE';
    } else if (this.udpPorts.has(port)) {
      return 'EADDRINUSE';
    }
    sock.localPort = port;
    sock.localAddr = addr;
    this.udpPorts.set(port, sock);
    return null;
  }

  unbindUdp(sock: UdpSocket): void {
    if (this.udpPorts.get(sock.localPort) === sock) this.udpPorts.delete(sock.localPort);
  }

  sendUdp(sock: UdpSocket, payload: Uint8Array, dst: number, dstPort: number): number | NetError {
    if (dst === 0) return 'EINVAL';
    if (isMulticastIpv4(dst)) return 'ENETUNREACH';
    const iface = this.route(dst, sock.localAddr);
    if (iface === null) return 'ENETUNREACH';
    if (iface.isBroadcast(dst) && !sock.broadcast) return 'EACCES';
    const udpLen = UDP_HLEN + payload.length;
    if (IPV4_HLEN + udpLen > iface.mtu) return 'EMSGSIZE';
    const src = sock.localAddr || iface.ip.addr;
    const local = this.localInterface(dst);
    if (local !== null) {
      // Our own address: no link involved (Linux routes this through lo).
      local.stats.udpOut++;
      const target = this.udpPorts.get(dstPort);
      if (target === undefined) local.stats.udpNoPort++;
      else if (target.deliver(payload, 0, payload.length, src, sock.localPort, dst))
        local.stats.udpIn++;
      else local.stats.udpQueueDrops++;
      return payload.length;
    }
    const f = iface.txBuffer();
    const at = IP_PAYLOAD_OFFSET;
    writeUdpHeader(f, at, sock.localPort, dstPort, udpLen);
    f.set(payload, at + UDP_HLEN);
    const offload = iface.link.txCsumOffload === true;
    if (offload) fillUdpPseudoChecksum(f, at, udpLen, src, dst);
    else fillUdpChecksum(f, at, udpLen, src, dst);
    const r = iface.sendIpv4(
      dst,
      IpProto.UDP,
      sock.ttl,
      udpLen,
      offload ? UDP_NEEDS_CSUM : null,
      src,
    );
    if (typeof r !== 'number') return r;
    iface.stats.udpOut++;
    return payload.length;
  }

  // ---- PingSocketHost ----

  sendEcho(
    sock: PingSocket,
    dst: number,
    seq: number,
    payloadLen: number,
    ttl: number,
  ): number | NetError {
    if (dst === 0) return 'EINVAL';
    if (isMulticastIpv4(dst)) return 'ENETUNREACH';
    const iface = this.route(dst);
    if (iface === null) return 'ENETUNREACH';
    if (iface.isBroadcast(dst)) return 'EACCES';
    const len = ICMP_ECHO_HLEN + payloadLen;
    if (IPV4_HLEN + len > iface.mtu) return 'EMSGSIZE';
    iface.stats.icmpEchoRequestsOut++;
    if (this.localInterface(dst) !== null) {
      sock.deliver(dst, seq, ttl, len, true);
      return len;
    }
    const f = iface.txBuffer();
    const at = IP_PAYLOAD_OFFSET;
    for (let i = 0; i < payloadLen; i++) f[at + ICMP_ECHO_HLEN + i] = pingPatternByte(i);
    finishEcho(f, at, len, IcmpType.ECHO_REQUEST, sock.id, seq);
    return iface.sendIpv4(dst, IpProto.ICMP, ttl, len, null);
  }

  unbindPing(sock: PingSocket): void {
    if (this.pings.get(sock.id) === sock) this.pings.delete(sock.id);
  }

  // ---- TransportInput (called by interfaces on receive) ----

  udpInput(
    iface: NetInterface,
    buf: Uint8Array,
    off: number,
    len: number,
    ip: Ipv4Header,
    dataValid: boolean,
  ): void {
    const s = iface.stats;
    const ulen = len >= UDP_HLEN ? udpLength(buf, off) : 0;
    if (ulen < UDP_HLEN || ulen > len) {
      s.rxMalformed++;
      return;
    }
    if (!dataValid && !udpChecksumOk(buf, off, ulen, ip.src, ip.dst)) {
      s.udpBadChecksum++;
      return;
    }
    const sock = this.udpPorts.get(udpDstPort(buf, off));
    if (sock === undefined || (sock.localAddr !== 0 && sock.localAddr !== ip.dst)) {
      s.udpNoPort++;
      return;
    }
    s.udpIn++;
    const payload = off + UDP_HLEN;
    if (!sock.deliver(buf, payload, ulen - UDP_HLEN, ip.src, udpSrcPort(buf, off), ip.dst)) {
      s.udpQueueDrops++;
    }
  }

  echoReplyInput(iface: NetInterface, buf: Uint8Array, off: number, len: number, ip: Ipv4Header) {
    const sock = this.pings.get(echoId(buf, off));
    if (sock === undefined) {
      iface.stats.icmpUnmatched++;
      return;
    }
    let payloadOk = true;
    for (let i = ICMP_ECHO_HLEN; i < len && payloadOk; i++) {
      payloadOk = buf[off + i] === pingPatternByte(i - ICMP_ECHO_HLEN);
    }
    sock.deliver(ip.src, echoSeq(buf, off), ip.ttl, len, payloadOk);
  }

  private localInterface(addr: number): NetInterface | null {
    for (const i of this.interfaces) if (i.ip.addr === addr) return i;
    return null;
  }
}
