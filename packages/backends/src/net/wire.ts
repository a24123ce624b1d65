// The two wires a NIC can be plugged into outside pvkit, both as QEMU frames
// them, so a pvkit guest and a QEMU guest can share one:
//
//   dgram   each Ethernet frame is one UDP datagram between a local and a
//           remote address (QEMU -netdev dgram); short frames padded to 60;
//   stream  TCP, each frame after its 4-byte big-endian length (QEMU
//           -netdev stream), as client ("connect", retried every second
//           while the peer is away) or server ("listen", one peer at a time).
//
// A wire never throws at its user: send errors, runts, oversize frames, a
// broken stream or a peer that is not there are counted (WireStats).

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { ETH_HLEN } from '@pvkit/virtio-ring';
import { checkFrameLength, DgramFraming } from './dgram-framing.ts';
import { formatHostPort, type HostPort, type NicBackendConfig } from './nic-config.ts';
import { encodeStreamFrame, StreamDecoder } from './stream-framing.ts';

export class WireStats {
  txFrames = 0;
  /** Frames the guest sent that no wire can carry (shorter than a header, longer than the MTU). */
  txRunts = 0;
  txOversize = 0;
  /** Sends that failed, or frames dropped because the peer is away or not keeping up. */
  txErrors = 0;
  rxFrames = 0;
  rxRunts = 0;
  rxOversize = 0;
  rxErrors = 0;
  connects = 0;
  disconnects = 0;
}

export interface Wire {
  readonly stats: WireStats;
  /** Bind or listen; resolves with a description for the domain's log ("dgram 127.0.0.1:5 -> ..."). */
  open(): Promise<string>;
  /** Send one frame (the wire keeps `frame`: hand it a buffer of its own). */
  send(frame: Uint8Array): void;
  close(): void;
}

/** Called with each received frame, a view valid only during the call. */
export type FrameSink = (frame: Uint8Array) => void;

export function openWire(cfg: NicBackendConfig, mtu: number, sink: FrameSink): Wire {
  if (cfg.kind === 'dgram') return new DgramWire(cfg.local, cfg.remote, mtu, sink);
  if (cfg.kind === 'stream') return new StreamWire(cfg.mode, cfg.addr, mtu, sink);
  throw new Error(`a ${cfg.kind} NIC has no wire`);
}

class DgramWire implements Wire {
  readonly stats = new WireStats();
  private readonly sock: UdpSocket = createSocket('udp4');
  declare private readonly framing: DgramFraming;
  declare private readonly local: HostPort;
  declare private readonly remote: HostPort;

  constructor(local: HostPort, remote: HostPort, mtu: number, sink: FrameSink) {
    this.local = local;
    this.remote = remote;
    this.framing = new DgramFraming({ mtu });
    this.sock.on('message', (msg) => {
      const f = this.framing.decode(msg);
      this.syncStats();
      if (f !== null) sink(f);
    });
  }

  open(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.sock.once('error', (e) =>
        reject(new Error(`dgram: cannot bind ${formatHostPort(this.local)}: ${e.message}`)),
      );
      this.sock.bind(this.local.port, this.local.host, () => {
        this.sock.removeAllListeners('error');
        // Later errors (ICMP unreachable on some systems) are counted, never thrown.
        this.sock.on('error', () => this.stats.txErrors++);
        const a = this.sock.address();
        resolve(`dgram ${a.address}:${a.port} -> ${formatHostPort(this.remote)}`);
      });
    });
  }

  send(frame: Uint8Array): void {
    const out = this.framing.encode(frame);
    this.syncStats();
    if (out === null) return;
    this.sock.send(out, this.remote.port, this.remote.host, (err) => {
      if (err) this.stats.txErrors++;
    });
    this.stats.txFrames++;
  }

  private syncStats(): void {
    const f = this.framing.stats;
    this.stats.rxFrames = f.rxFrames;
    this.stats.rxRunts = f.rxRunts;
    this.stats.rxOversize = f.rxOversize;
    this.stats.txRunts = f.txRunts;
    this.stats.txOversize = f.txOversize;
  }

  close(): void {
    this.sock.close();
  }
}

/** Bytes queued in a stream socket beyond which frames are dropped (counted), not buffered. */
const STREAM_HIGH_WATER = 1 << 20;
const RECONNECT_MS = 1000;

class StreamWire implements Wire {
  readonly stats = new WireStats();
  declare private readonly decoder: StreamDecoder;
  declare private readonly mode: 'connect' | 'listen';
  declare private readonly addr: HostPort;
  declare private readonly sink: FrameSink;
  declare private readonly mtu: number;
  private sock: Socket | null = null;
  private server: Server | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(mode: 'connect' | 'listen', addr: HostPort, mtu: number, sink: FrameSink) {
    this.mode = mode;
    this.addr = addr;
    this.sink = sink;
    this.mtu = mtu;
    this.decoder = new StreamDecoder({ maxFrame: mtu + ETH_HLEN });
  }

  open(): Promise<string> {
    const where = formatHostPort(this.addr);
    if (this.mode === 'connect') {
      this.dial();
      return Promise.resolve(`stream connect ${where}`);
    }
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.accept(s));
      this.server = server;
      server.once('error', (e) =>
        reject(new Error(`stream: cannot listen on ${where}: ${e.message}`)),
      );
      server.listen(this.addr.port, this.addr.host, () => {
        server.removeAllListeners('error');
        server.on('error', () => this.stats.rxErrors++);
        resolve(`stream listen ${where}`);
      });
    });
  }

  private dial(): void {
    if (this.closed) return;
    const s = tcpConnect(this.addr.port, this.addr.host);
    s.once('connect', () => this.adopt(s));
    s.once('error', () => {
      // Not there (yet): try again; the frames meanwhile are counted as lost.
      s.destroy();
      if (this.sock === null && !this.closed)
        this.retry = setTimeout(() => this.dial(), RECONNECT_MS);
    });
  }

  private accept(s: Socket): void {
    if (this.sock !== null || this.closed) {
      s.destroy(); // one peer at a time, as QEMU's stream server
      return;
    }
    this.adopt(s);
  }

  private adopt(s: Socket): void {
    this.sock = s;
    this.stats.connects++;
    s.setNoDelay(true);
    this.decoder.reset();
    s.on('data', (chunk: Buffer) => {
      const ok = this.decoder.push(chunk, (f) => {
        this.stats.rxFrames++;
        this.sink(f);
      });
      this.stats.rxRunts = this.decoder.stats.runts;
      if (!ok) {
        // A length-prefixed stream cannot resynchronise: drop the peer (QEMU does too).
        this.stats.rxErrors++;
        s.destroy();
      }
    });
    s.on('error', () => this.stats.rxErrors++);
    s.on('close', () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.stats.disconnects++;
      if (this.mode === 'connect' && !this.closed)
        this.retry = setTimeout(() => this.dial(), RECONNECT_MS);
    });
  }

  send(frame: Uint8Array): void {
    const s = this.sock;
    const problem = checkFrameLength(frame.length, this.mtu);
    if (problem !== null) {
      if (problem === 'runt') this.stats.txRunts++;
      else this.stats.txOversize++;
      return;
    }
    if (s === null || s.writableLength > STREAM_HIGH_WATER) {
      this.stats.txErrors++;
      return;
    }
    s.write(encodeStreamFrame(frame));
    this.stats.txFrames++;
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.sock?.destroy();
    this.server?.close();
  }
}
