// netperf: UDP throughput and latency between two guests (or a guest and
// anything that speaks its little protocol, ./netperf-proto.ts).
//
//   netperf server <port> [sessions]           sink + echo (see netperf-server.ts)
//   netperf stream <ip> <port> <size> <secs> [warmup]
//                              send size-byte datagrams as fast as the ring takes
//                              them; the server reports what reached its app:
//                              pps and MB/s
//   netperf rr <ip> <port> <size> <secs> [warmup]
//                              one request in flight, echoed back: transactions/s,
//                              latency p50/p99
//
// With a warmup (seconds), the same traffic runs that long first, unmeasured
// (code gets compiled, rings and caches fill), as blkbench's warmup does.
//
// Each client run prints one human line and one `netperf-json {...}` line.
import type { AppUdpSocket } from '../netif/sockets.ts';
import type { Sys } from '../syscalls.ts';
import type { AppSpec } from './app.ts';
import { countArgError } from './app.ts';
import { addressedInterfaces, ipArgError, portArgError, secondsArgError } from './net-args.ts';
import {
  NP,
  NP_HEADER,
  NP_MAX_SIZE,
  NP_MODE,
  type NpMessage,
  npN,
  readNp,
  setNpN,
  writeNp,
} from './netperf-proto.ts';
import { netperfServer } from './netperf-server.ts';

const CONTROL_TRIES = 25;
const CONTROL_WAIT_MS = 200;
const RR_WAIT_MS = 200;
/**
 * Answer deadlines are rounded up to this grid, so that consecutive
 * transactions share one: the kernel then re-arms the VMM timer (a trap)
 * once per grid step, not once per transaction.
 */
const RR_DEADLINE_GRID_MS = 100;
/** Sends between two looks at the clock (and a yield to other tasks). */
const STREAM_CHECK_EVERY = 256;

function sizeArgError(arg: string | undefined): string | null {
  const n = Number(arg);
  return arg !== undefined && Number.isInteger(n) && n >= NP_HEADER && n <= NP_MAX_SIZE
    ? null
    : `size must be ${NP_HEADER}..${NP_MAX_SIZE} bytes, got "${arg}"`;
}

function check(argv: readonly string[]): string | null {
  const [mode, ...rest] = argv;
  if (mode === 'server') return portArgError(rest[0]) ?? countArgError(rest[1], 'sessions');
  if (mode !== 'stream' && mode !== 'rr') return 'mode must be server, stream or rr';
  return (
    ipArgError(rest[0], 'server address') ??
    portArgError(rest[1]) ??
    sizeArgError(rest[2]) ??
    (rest[3] === undefined
      ? 'give the duration in seconds'
      : secondsArgError(rest[3], 'seconds')) ??
    secondsArgError(rest[4], 'warmup')
  );
}

/**
 * Send a control message until its answer (one of the kinds `want`, same
 * session) comes back. A plain UDP echo answers with the message itself.
 */
async function control(
  sys: Sys,
  sock: AppUdpSocket,
  to: { addr: number; port: number },
  m: NpMessage,
  ...want: number[]
): Promise<NpMessage | null> {
  const out = new Uint8Array(NP_HEADER);
  const buf = new Uint8Array(NP_MAX_SIZE);
  writeNp(out, m);
  for (let i = 0; i < CONTROL_TRIES; i++) {
    await sock.sendTo(out, to.addr, to.port);
    const until = sys.now() + CONTROL_WAIT_MS;
    while (sys.now() < until) {
      const len = await sock.recvFrom(buf, undefined, until - sys.now());
      if (typeof len !== 'number') break;
      const r = readNp(buf, len);
      if (r !== null && want.includes(r.kind) && r.session === m.session) return r;
    }
  }
  return null;
}

async function stream(
  sys: Sys,
  sock: AppUdpSocket,
  to: { addr: number; port: number },
  size: number,
  secs: number,
  session: number,
) {
  const pkt = new Uint8Array(size);
  writeNp(pkt, { kind: NP.DATA, mode: NP_MODE.stream, session, n: 0, bytes: 0, ns: 0 });
  let sent = 0;
  let failed = 0;
  const t0 = sys.now();
  const end = t0 + secs * 1000;
  for (;;) {
    for (let i = 0; i < STREAM_CHECK_EVERY; i++) {
      setNpN(pkt, sent);
      const r = sock.trySendTo(pkt, to.addr, to.port);
      if (typeof r === 'number') sent++;
      else if (r === 'ENOBUFS') await sock.waitTx(to.addr);
      else failed++;
    }
    if (sys.now() >= end) break;
    await sys.yield();
  }
  const txSecs = (sys.now() - t0) / 1000;
  return { sent, failed, txSecs };
}

async function rr(
  sys: Sys,
  sock: AppUdpSocket,
  to: { addr: number; port: number },
  size: number,
  secs: number,
  session: number,
) {
  const pkt = new Uint8Array(size);
  const buf = new Uint8Array(NP_MAX_SIZE);
  writeNp(pkt, { kind: NP.RR, mode: NP_MODE.rr, session, n: 0, bytes: 0, ns: 0 });
  const lat: number[] = [];
  let lost = 0;
  let corrupt = 0;
  const t0 = sys.now();
  const end = t0 + secs * 1000;
  for (let seq = 0; sys.now() < end; seq++) {
    setNpN(pkt, seq);
    for (let i = NP_HEADER; i < size; i++) pkt[i] = (seq + i) & 0xff;
    const start = sys.now();
    const until = Math.ceil((start + RR_WAIT_MS) / RR_DEADLINE_GRID_MS) * RR_DEADLINE_GRID_MS;
    await sock.sendTo(pkt, to.addr, to.port);
    for (;;) {
      let len = sock.tryRecvFrom(buf);
      if (len === 'EAGAIN') len = await sock.recvFrom(buf, undefined, until - sys.now());
      if (typeof len !== 'number') {
        lost++;
        break;
      }
      if (buf[0] === NP.RR && npN(buf) === seq) {
        lat.push(sys.now() - start);
        if (len !== size || !samePayload(pkt, buf, size)) corrupt++;
        break;
      }
    }
  }
  return { lat, lost, corrupt, secs: (sys.now() - t0) / 1000 };
}

function samePayload(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = NP_HEADER; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UDP datagrams this domain's stack refused for a bad checksum (all interfaces). */
function badChecksums(sys: Sys): number {
  return sys.net.interfaces().reduce((n, i) => n + (i.stats?.udpBadChecksum ?? 0), 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const netperf: AppSpec = {
  name: 'netperf',
  usage:
    'netperf server <port> [sessions] | netperf stream|rr <ip> <port> <size> <seconds> [warmup]',
  about: 'UDP stream (pps, MB/s at the receiver) and request/response (transactions/s, p50/p99)',
  check,
  async main(sys, argv) {
    const [mode, ...rest] = argv;
    if (addressedInterfaces(sys, 'netperf') === null) return 2;
    if (mode === 'server')
      return netperfServer(
        sys,
        Number(rest[0]),
        rest[1] === undefined ? Number.POSITIVE_INFINITY : Number(rest[1]),
      );
    const to = { addr: sys.net.parseIp(rest[0]) as number, port: Number(rest[1]) };
    const size = Number(rest[2]);
    const secs = Number(rest[3]);
    const warmup = rest[4] === undefined ? 0 : Number(rest[4]);
    const session = ((sys.domid << 16) ^ Math.floor(sys.now() * 1000)) >>> 0;
    const m: NpMessage = {
      kind: NP.START,
      mode: NP_MODE[mode as 'stream' | 'rr'],
      session,
      n: 0,
      bytes: 0,
      ns: 0,
    };
    const sock = sys.net.udp({ rcvDatagrams: 1024 });
    const where = `${rest[0]}:${rest[1]}`;
    if ((await control(sys, sock, to, m, NP.START)) === null) {
      sys.print(`netperf: no answer from a netperf server at ${where}`);
      return 1;
    }
    if (warmup > 0) {
      // Unmeasured: a session of its own, which the server starts afresh after.
      const w = (session + 1) >>> 0;
      if (mode === 'rr') await rr(sys, sock, to, size, warmup, w);
      else await stream(sys, sock, to, size, warmup, w);
      await control(sys, sock, to, m, NP.START);
    }
    if (mode === 'rr') {
      const r = await rr(sys, sock, to, size, secs, session);
      // A netperf server answers RESULT; a plain udp-echo sends the END back.
      await control(sys, sock, to, { ...m, kind: NP.END, n: r.lat.length }, NP.RESULT, NP.END);
      const sorted = r.lat.slice().sort((a, b) => a - b);
      const tps = r.lat.length / r.secs;
      const p50 = percentile(sorted, 50) * 1000;
      const p99 = percentile(sorted, 99) * 1000;
      sys.print(
        `netperf rr ${where} size ${size}: ${r.lat.length} transactions in ${r.secs.toFixed(2)} s: ` +
          `${tps.toFixed(0)} trans/s, latency p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs, ` +
          `${r.lost} lost, ${r.corrupt} corrupt`,
      );
      sys.print(
        `netperf-json ${JSON.stringify({ mode, size, transactions: r.lat.length, seconds: r.secs, tps, p50us: p50, p99us: p99, lost: r.lost, corrupt: r.corrupt, badChecksums: badChecksums(sys) })}`,
      );
      sock.close();
      return r.lat.length > 0 && r.corrupt === 0 ? 0 : 1;
    }
    const s = await stream(sys, sock, to, size, secs, session);
    const res = await control(sys, sock, to, { ...m, kind: NP.END, n: s.sent }, NP.RESULT);
    sock.close();
    if (res === null) {
      sys.print(`netperf: the server at ${where} did not report`);
      return 1;
    }
    const rxSecs = res.ns / 1e9;
    const pps = rxSecs > 0 ? (res.n - 1) / rxSecs : 0;
    const mbps = rxSecs > 0 ? res.bytes / rxSecs / 1e6 : 0;
    const loss = s.sent > 0 ? (1 - res.n / s.sent) * 100 : 0;
    sys.print(
      `netperf stream ${where} size ${size}: sent ${s.sent} in ${s.txSecs.toFixed(2)} s ` +
        `(${(s.sent / s.txSecs / 1000).toFixed(1)} kpps); received ${res.n} (${loss.toFixed(1)}% lost): ` +
        `${(pps / 1000).toFixed(1)} kpps, ${mbps.toFixed(1)} MB/s at the receiver`,
    );
    sys.print(
      `netperf-json ${JSON.stringify({ mode, size, sent: s.sent, received: res.n, seconds: rxSecs, pps, mbps, lossPct: loss })}`,
    );
    return res.n > 0 ? 0 : 1;
  },
};
