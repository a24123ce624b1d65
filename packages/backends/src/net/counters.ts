// A NIC's own counters, in the device-specific slots of its DeviceCounters
// (tx queue's section; the rx queue's generic slots count buffers filled).
// Named from the guest's side: "tx" is what the guest sent, "rx" what it
// was given. The switch fills the port counters of a bridge (flooded,
// filtered, bad source); the wire backends fill the wire* ones.

export const NET_COUNTER_NAMES = [
  /** Frames taken from the guest's tx queue and accepted. */
  'txFrames',
  'txBytes',
  /** Tx chains refused: header short, split oddly, device-writable, or invalid (validateTxNetHdr). */
  'txBadHeader',
  /** Frames shorter than an Ethernet header. */
  'txRunts',
  /** Frames longer than the MTU allows. */
  'txOversize',
  /** Switch: a multicast or zero source MAC. */
  'txBadSource',
  /** Switch: destination on the sender's own port. */
  'txFiltered',
  /** Switch: sent to every other port (broadcast, multicast, unknown destination). */
  'txFlooded',
  /** Checksums the backend completed (NEEDS_CSUM toward a receiver or wire that needs it whole). */
  'csumCompleted',
  /** Frames delivered DATA_VALID (sent NEEDS_CSUM, received by a GUEST_CSUM driver). */
  'csumDataValid',
  /** Frames written into the guest's rx buffers. */
  'rxFrames',
  'rxBytes',
  /** Frames for this guest dropped: its rx queue was empty (or not set up). */
  'rxDropped',
  /** Frames dropped because the guest's rx buffers were malformed or too small. */
  'rxBufferErrors',
  /** Frames that needed more than one rx buffer (MRG_RXBUF). */
  'rxMerged',
  /** Wire: datagrams / stream frames sent, and sends that failed (peer not listening, ...). */
  'wireTxFrames',
  'wireTxErrors',
  /** Wire: frames received, and what was refused (runt, oversize) or broke the stream. */
  'wireRxFrames',
  'wireRxRunts',
  'wireRxOversize',
  'wireRxErrors',
  /** Stream: connections made (accepted or connected) and lost. */
  'wireConnects',
  'wireDisconnects',
  /** Switch: unicast frames that waited in this guest's tx ring for the receiver's rx buffers. */
  'txHeld',
  /** Frames for this guest dropped because its link is down (vmm.setLink). */
  'rxLinkDown',
  /** Frames this guest sent while its link was down: dropped. */
  'txLinkDown',
] as const;

export type NetCounterName = (typeof NET_COUNTER_NAMES)[number];

/** Slot of each counter inside the device-specific section. */
export const NET_COUNTER = Object.fromEntries(NET_COUNTER_NAMES.map((n, i) => [n, i])) as {
  readonly [K in NetCounterName]: number;
};

/** Queue indices of a single-pair virtio-net device (receiveq1, transmitq1). */
export const NET_RX_QUEUE = 0;
export const NET_TX_QUEUE = 1;
