// Per-interface counters. Plain numeric fields: incrementing one costs a
// store on the per-packet path, and the kernel can copy them out as they are.
// Every dropped frame increments exactly one counter that says why.

export class NetStats {
  rxFrames = 0;
  rxBytes = 0;
  txFrames = 0;
  txBytes = 0;
  /** link.transmit returned false: no tx buffer. */
  txNoBuffer = 0;
  /** Frames received while the link was down. */
  rxLinkDown = 0;
  /** Truncated frames or inconsistent lengths/fields at any layer. */
  rxMalformed = 0;
  /** Ethernet destination neither our MAC nor broadcast. */
  rxNotForUs = 0;
  rxUnknownEtherType = 0;

  arpRequestsIn = 0;
  arpRepliesIn = 0;
  arpRequestsSent = 0;
  arpRepliesSent = 0;
  arpGratuitousSent = 0;
  /** ARP from our own MAC or a multicast sender MAC (spoofed or looped back). */
  arpIgnored = 0;
  /** Someone else claims our IP address. */
  arpConflicts = 0;
  /** Packets waiting for resolution dropped (queue bound, or resolution failed). */
  arpQueueDrops = 0;
  /** Resolutions that gave up after the last retry. */
  arpUnresolved = 0;

  ipNotForUs = 0;
  ipBadChecksum = 0;
  ipFragmentsDropped = 0;
  ipUnknownProto = 0;
  /** Source 0.0.0.0, broadcast, multicast or our own address. */
  ipBadSource = 0;
  /** Sends refused because the next hop has no route (no gateway). */
  ipNoRoute = 0;

  udpIn = 0;
  udpOut = 0;
  udpBadChecksum = 0;
  udpNoPort = 0;
  /** Datagrams dropped because the socket's receive queue was full. */
  udpQueueDrops = 0;

  icmpBadChecksum = 0;
  icmpEchoRequestsIn = 0;
  icmpEchoRepliesOut = 0;
  icmpEchoRequestsOut = 0;
  icmpEchoRepliesIn = 0;
  /** Echo replies for no open ping socket. */
  icmpUnmatched = 0;
  icmpBroadcastIgnored = 0;
  icmpOtherTypes = 0;
}
