// The framings over real sockets on 127.0.0.1 (ephemeral ports): what QEMU's
// `-netdev dgram` and `-netdev stream` peers would exchange.

import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { NetStack } from '../../guest-kernel/src/net/index.ts';
import { hex, ManualClock, MemLink, toHex } from '../../guest-kernel/test/support/net-harness.ts';
import { DgramFraming, encodeStreamFrame, StreamDecoder } from '../src/net/index.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function udpSocket(): Promise<{ sock: Socket; port: number }> {
  const sock = createSocket('udp4');
  cleanups.push(() => sock.close());
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  return { sock, port: sock.address().port };
}

/** Collect `n` datagrams arriving on `sock`. */
function collect(sock: Socket, n: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return withTimeout(
    new Promise((resolve) => {
      sock.on('message', (msg) => {
        got.push(new Uint8Array(msg));
        if (got.length === n) resolve(got);
      });
    }),
    5000,
    `${n} datagrams`,
  );
}

describe('-netdev dgram framing over real UDP sockets', () => {
  test('one frame per datagram, short frames padded to 60, runts refused on receive', async () => {
    const a = await udpSocket();
    const b = await udpSocket();
    const txFraming = new DgramFraming();
    const rxFraming = new DgramFraming();
    const frames = [
      new Uint8Array(42).fill(1),
      new Uint8Array(60).fill(2),
      new Uint8Array(1514).fill(3),
    ];
    const arriving = collect(b.sock, frames.length + 1);
    for (const f of frames) a.sock.send(txFraming.encode(f)!, b.port, '127.0.0.1');
    a.sock.send(new Uint8Array(13), b.port, '127.0.0.1'); // a runt from a broken peer
    const got = (await arriving).map((d) => rxFraming.decode(d));
    expect(got.map((f) => f?.length ?? null)).toEqual([60, 60, 1514, null]);
    expect(toHex(got[0]!.subarray(0, 42))).toBe(toHex(frames[0]));
    expect(got[0]!.subarray(42).every((x) => x === 0)).toBe(true);
    expect(got[2]).toEqual(frames[2]);
    expect(rxFraming.stats.rxRunts).toBe(1);
  });

  test('a plain dgram peer (QEMU framing) gets ARP and ICMP answers from a pvkit stack', async () => {
    const qemu = await udpSocket();
    const pvkit = await udpSocket();
    const framing = new DgramFraming();
    // The pvkit side: a stack whose link sends each frame as one datagram.
    const link = new MemLink(hex('020000000002'));
    link.transmit = (frame) => {
      const wire = framing.encode(frame);
      if (wire === null) return false;
      pvkit.sock.send(wire.slice(), qemu.port, '127.0.0.1');
      return true;
    };
    const stack = new NetStack({ clock: new ManualClock() });
    const iface = stack.addInterface(link, { ip: '10.0.0.2/24' });
    pvkit.sock.on('message', (msg) => {
      const frame = framing.decode(new Uint8Array(msg));
      if (frame !== null) iface.receive(frame);
    });
    const replies = collect(qemu.sock, 3); // gratuitous ARP, ARP reply, echo reply
    iface.setLinkUp(true);
    const arpRequest = hex(`ffffffffffff 525400123456 0806 0001 0800 06 04 0001
      525400123456 0a000001 000000000000 0a000002 000000000000000000000000000000000000`);
    qemu.sock.send(arpRequest, pvkit.port, '127.0.0.1');
    await withTimeout(once(pvkit.sock, 'message'), 5000, 'ARP request to arrive');
    const echo = hex(`020000000002 525400123456 0800
      4500 0054 1c46 4000 40 01 0a61 0a000001 0a000002 08 00 5d76 0123 0001 5f3c8e6500000000
      101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f`);
    qemu.sock.send(echo, pvkit.port, '127.0.0.1');
    const [garp, arpReply, echoReply] = await replies;
    expect(garp.length).toBe(60);
    expect(toHex(garp.subarray(0, 14))).toBe('ffffffffffff0200000000020806');
    expect(arpReply.length).toBe(60);
    expect(toHex(arpReply.subarray(0, 42))).toBe(
      '525400123456020000000002080600010800060400020200000000020a0000025254001234560a000001',
    );
    expect(echoReply.length).toBe(98);
    expect(toHex(echoReply)).toBe(
      toHex(
        hex(`525400123456 020000000002 0800
          4500 0054 0000 4000 40 01 26a7 0a000002 0a000001 00 00 6576 0123 0001 5f3c8e6500000000
          101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f`),
      ),
    );
  });
});

describe('-netdev stream framing over a real TCP connection', () => {
  async function server(onConn: (s: import('node:net').Socket) => void): Promise<number> {
    const srv: Server = createServer(onConn);
    cleanups.push(() => srv.close());
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const addr = srv.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP port');
    return addr.port;
  }

  test('frames written in odd-sized pieces arrive whole and in order', async () => {
    const frames = Array.from({ length: 200 }, (_, i) =>
      Uint8Array.from({ length: 14 + ((i * 97) % 1501) }, (_, j) => (i + j) & 0xff),
    );
    const received: Uint8Array[] = [];
    const dec = new StreamDecoder();
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const port = await server((conn) => {
      cleanups.push(() => conn.destroy());
      conn.on('data', (chunk) => {
        dec.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), (f) =>
          received.push(f.slice()),
        );
        if (received.length === frames.length) done();
      });
    });
    const client = tcpConnect(port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    await once(client, 'connect');
    client.setNoDelay(true);
    const stream = Buffer.concat(frames.map((f) => encodeStreamFrame(f)));
    // Cut the byte stream at uneven points so prefixes and frames straddle writes.
    for (let at = 0, step = 1; at < stream.length; at += step, step = (step * 7 + 3) % 2000) {
      client.write(stream.subarray(at, at + step));
    }
    await withTimeout(all, 10_000, 'all frames over TCP');
    expect(received).toEqual(frames);
    expect(dec.error).toBeNull();
  });

  test('a garbage length makes the receiver drop the connection instead of buffering', async () => {
    const dec = new StreamDecoder();
    const port = await server((conn) => {
      conn.on('data', (chunk) => {
        if (!dec.push(new Uint8Array(chunk), () => {})) conn.destroy();
      });
    });
    const client = tcpConnect(port, '127.0.0.1');
    cleanups.push(() => client.destroy());
    await once(client, 'connect');
    client.on('error', () => {}); // a reset is one of the ways the close shows up
    client.write(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]));
    await withTimeout(once(client, 'close'), 5000, 'server to close the connection');
    expect(dec.error).toMatch(/exceeds the maximum/);
    expect(dec.pending).toBe(0);
  });
});
