// A small IPv4 network stack for the guest kernel: Ethernet, ARP, IPv4,
// ICMP echo, UDP. No Node-only code; see README.md for the contract.
export * from './addr.ts';
export { ARP_LEN, ArpOp } from './arp.ts';
export { type ArpTimers, DEFAULT_ARP_TIMERS } from './arp-cache.ts';
export { EtherType } from './ethernet.ts';
export { ICMP_ECHO_HLEN, IcmpType, PING_DEFAULT_PAYLOAD } from './icmp.ts';
export { type InterfaceOptions, IP_PAYLOAD_OFFSET, NetInterface } from './interface.ts';
export { DEFAULT_TTL, IPV4_HLEN, IpProto, pseudoHeaderSum } from './ipv4.ts';
export { type EchoReply, PingSocket } from './ping-socket.ts';
export { EPHEMERAL_FIRST, EPHEMERAL_LAST, NetStack } from './stack.ts';
export { NetStats } from './stats.ts';
export * from './types.ts';
export { UDP_HLEN } from './udp.ts';
export { type UdpDatagram, type UdpFrom, UdpSocket, type UdpSocketOptions } from './udp-socket.ts';
