// The netperf server side: a sink for streams and an echo for
// request/response, on one UDP port, counting what reached the app. After
// `sessions` completed sessions (each ended by the client's END) it lingers
// a moment to answer repeated ENDs, then exits; without it, it serves until
// the domain is shut down.
import type { AppUdpSocket } from '../netif/sockets.ts';
import type { Sys } from '../syscalls.ts';
import { NP, NP_HEADER, NP_MODE, npSession, readNp, writeNp } from './netperf-proto.ts';

const LINGER_MS = 300;

interface Session {
  id: number;
  mode: number;
  received: number;
  bytes: number;
  firstMs: number;
  lastMs: number;
  ended: boolean;
}

export async function netperfServer(sys: Sys, port: number, sessions: number): Promise<number> {
  const sock = sys.net.udp({ rcvDatagrams: 4096, rcvBytes: 4 << 20 });
  const err = sock.bind(port);
  if (err !== null) {
    sys.print(`netperf server: bind ${port}: ${err}`);
    return 1;
  }
  sys.print(`netperf server: listening on port ${port}`);
  const buf = new Uint8Array(65536);
  const from = { addr: 0, port: 0 };
  let s: Session | null = null;
  let done = 0;
  let lingerUntil = Number.POSITIVE_INFINITY;
  // Stream data is stamped once per batch (the clock is read when the
  // queue runs dry or something else arrives), not once per datagram: the
  // last arrival's stamp is then a little late, never early.
  let unstamped = false;
  for (;;) {
    const len = sock.tryRecvFrom(buf, from);
    const kind = typeof len === 'number' && len >= NP_HEADER ? buf[0] : 0;
    if (unstamped && kind !== NP.DATA && s !== null) {
      s.lastMs = sys.now();
      unstamped = false;
    }
    if (typeof len !== 'number') {
      if (sys.now() >= lingerUntil) break;
      await sock.waitReadable(Number.isFinite(lingerUntil) ? lingerUntil - sys.now() : null);
      continue;
    }
    if (kind === NP.DATA) {
      if (s !== null && !s.ended && npSession(buf) === s.id) {
        if (s.received === 0) s.firstMs = s.lastMs = sys.now();
        else unstamped = true;
        s.received++;
        s.bytes += len;
      }
      continue;
    }
    if (kind === NP.RR) {
      if (s !== null && npSession(buf) === s.id) s.received++;
      await sock.sendTo(buf.subarray(0, len), from.addr, from.port);
      continue;
    }
    const m = readNp(buf, len);
    if (m === null) continue;
    if (m.kind === NP.START) {
      if (s === null || s.id !== m.session)
        s = {
          id: m.session,
          mode: m.mode,
          received: 0,
          bytes: 0,
          firstMs: 0,
          lastMs: 0,
          ended: false,
        };
      await sock.sendTo(buf.subarray(0, len), from.addr, from.port);
    } else if (m.kind === NP.END && s !== null && s.id === m.session) {
      if (!s.ended) {
        s.ended = true;
        report(sys, s, m.n);
        if (++done >= sessions) lingerUntil = sys.now() + LINGER_MS;
      }
      await answer(sock, buf, s, from);
    }
  }
  sock.close();
  return 0;
}

async function answer(
  sock: AppUdpSocket,
  buf: Uint8Array,
  s: Session,
  to: { addr: number; port: number },
) {
  writeNp(buf, {
    kind: NP.RESULT,
    mode: s.mode,
    session: s.id,
    n: s.received,
    bytes: s.bytes,
    ns: (s.lastMs - s.firstMs) * 1e6,
  });
  await sock.sendTo(buf.subarray(0, NP_HEADER), to.addr, to.port);
}

function report(sys: Sys, s: Session, sent: number): void {
  const secs = (s.lastMs - s.firstMs) / 1000;
  if (s.mode === NP_MODE.rr) {
    sys.print(`netperf server: rr session ${s.id}: ${s.received} requests echoed`);
    return;
  }
  const pps = secs > 0 ? (s.received - 1) / secs : 0;
  sys.print(
    `netperf server: stream session ${s.id}: received ${s.received} of ${sent} datagrams, ` +
      `${(pps / 1000).toFixed(1)} kpps, ${(s.bytes / Math.max(secs, 1e-9) / 1e6).toFixed(1)} MB/s`,
  );
}
