// netperf's little protocol, at the start of every UDP payload (big-endian):
//
//   kind u8 @0 · mode u8 @1 · session u32 @4 · n u32 @8 · bytes f64 @12 · ns f64 @20
//
//   START  client → server (mode: stream or rr), echoed back as the ack;
//   DATA   stream payload (the server counts it);
//   RR     a request, echoed back unchanged (n: its sequence number);
//   END    client → server (n: datagrams sent); answered by RESULT with what
//          the server received (n, bytes) and over how long (ns, first to
//          last DATA). Lost control datagrams are sent again.

export const NP = { START: 1, DATA: 2, RR: 3, END: 4, RESULT: 5 } as const;
export const NP_MODE = { stream: 1, rr: 2 } as const;
/** Bytes of the header; the smallest payload netperf sends. */
export const NP_HEADER = 28;
/** The largest UDP payload in one 1500-byte IPv4 packet. */
export const NP_MAX_SIZE = 1472;

export interface NpMessage {
  kind: number;
  mode: number;
  session: number;
  n: number;
  bytes: number;
  ns: number;
}

export function writeNp(buf: Uint8Array, m: NpMessage): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint8(0, m.kind);
  dv.setUint8(1, m.mode);
  dv.setUint32(4, m.session);
  dv.setUint32(8, m.n >>> 0);
  dv.setFloat64(12, m.bytes);
  dv.setFloat64(20, m.ns);
}

export function readNp(buf: Uint8Array, len: number): NpMessage | null {
  if (len < NP_HEADER) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    kind: dv.getUint8(0),
    mode: dv.getUint8(1),
    session: dv.getUint32(4),
    n: dv.getUint32(8),
    bytes: dv.getFloat64(12),
    ns: dv.getFloat64(20),
  };
}

/** Session and sequence number of a hot-path datagram, without a DataView. */
export function npSession(buf: Uint8Array): number {
  return ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
}

export function npN(buf: Uint8Array): number {
  return ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
}

export function setNpN(buf: Uint8Array, n: number): void {
  buf[8] = n >>> 24;
  buf[9] = (n >>> 16) & 0xff;
  buf[10] = (n >>> 8) & 0xff;
  buf[11] = n & 0xff;
}
