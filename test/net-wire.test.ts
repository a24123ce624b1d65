// A pvkit guest on a QEMU-compatible wire: a plain Node `dgram` socket
// stands where a QEMU `-netdev dgram` guest would, and exchanges raw
// Ethernet frames with the guest exactly as QEMU frames them (one frame per
// datagram, no virtio header, no FCS, short frames padded to 60). Then the
// stream form (4-byte big-endian length prefix) over TCP, and the ways a
// wire goes wrong: runts and oversize datagrams, a peer that is not there,
// a port that is taken.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Socket as TcpSocket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { internetChecksum } from '../packages/virtio-ring/src/index.ts';
import { exitOf, lineMatching, testVmm, until, within } from './lib/harness.ts';
import {
  arpFrame,
  HOST_MAC,
  icmpEcho,
  ip,
  ipv4Frame,
  parseArp,
  parseIpv4,
  udpChecksumOk,
  udpEchoFrame,
} from './support/eth-frames.ts';
import { netDomain, nicCounters } from './support/net-harness.ts';

const sockets: { close(): void }[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** The host end of a dgram wire: every frame the guest sends, and who sent it. */
function recorder(s: Socket) {
  const frames: Uint8Array[] = [];
  let guest: RemoteInfo | null = null;
  const waiters: (() => void)[] = [];
  s.on('message', (m, r) => {
    guest = r;
    frames.push(new Uint8Array(m));
    for (const w of waiters.splice(0)) w();
  });
  return {
    frames,
    get guest(): RemoteInfo {
      if (guest === null) throw new Error('nothing from the guest yet');
      return guest;
    },
    send(f: Uint8Array) {
      s.send(f, this.guest.port, '127.0.0.1');
    },
    /** The first frame (from index `from` on) matching `pred`, within ms. */
    async next(pred: (f: Uint8Array) => boolean, from = 0, ms = 5000): Promise<Uint8Array> {
      const end = Date.now() + ms;
      for (;;) {
        const f = frames.slice(from).find(pred);
        if (f) return f;
        if (Date.now() > end)
          throw new Error(`no matching frame in ${ms} ms (${frames.length} seen)`);
        await within(
          new Promise<void>((r) => waiters.push(r)),
          Math.max(1, end - Date.now()),
          'frame',
        ).catch(() => {});
      }
    },
  };
}

/** A guest whose one NIC is a dgram wire to 127.0.0.1:`remotePort`, with address `cidr`. */
function dgramGuest(name: string, remotePort: number, cidr: string, apps: string[]) {
  const nic = {
    backend: 'dgram',
    local: '127.0.0.1:0',
    remote: `127.0.0.1:${remotePort}`,
    ip: cidr,
  };
  return netDomain(name, [nic], apps);
}

const GUEST_IP = ip('10.9.0.2');
const HOST_IP = ip('10.9.0.1');

describe('dgram: a Node socket speaks to the guest the way QEMU frames it', () => {
  test('gratuitous ARP out, ARP request in and reply out, ICMP echo answered, UDP checksums whole', async () => {
    const host = await udpSocket();
    const wire = recorder(host);
    // The host answers ARP for itself, echoes UDP, and checks the guest's checksums.
    let udpVerified = 0;
    let udpBad = 0;
    host.on('message', (m) => {
      const f = new Uint8Array(m);
      const arp = parseArp(f);
      if (arp?.op === 1 && arp.tpa === HOST_IP)
        wire.send(
          arpFrame({
            op: 2,
            sha: HOST_MAC,
            spa: HOST_IP,
            tha: arp.sha,
            tpa: arp.spa,
            dst: arp.sha,
          }),
        );
      const p = parseIpv4(f);
      if (p?.proto === 17) {
        if (p.headerOk && udpChecksumOk(p)) udpVerified++;
        else udpBad++;
        wire.send(udpEchoFrame(f));
      }
      if (p?.proto === 1 && p.l4[0] === 8) {
        // Answer the guest's ping as a host would.
        const reply = p.l4.slice();
        reply[0] = 0;
        reply[2] = 0;
        reply[3] = 0;
        const sum = internetChecksum(reply);
        reply[2] = sum >> 8;
        reply[3] = sum & 0xff;
        wire.send(ipv4Frame(f.slice(6, 12), HOST_IP, p.src, 1, reply));
      }
    });
    const vmm = testVmm();
    const [g] = await vmm.createDomains([
      dgramGuest('qemu-peer', host.address().port, '10.9.0.2/24', [
        'idle 2.5',
        'ping 10.9.0.1 3 100',
        'netperf rr 10.9.0.1 7 300 0.3',
      ]),
    ]);
    vmm.start(g);
    // Link up: a gratuitous ARP, padded to the Ethernet minimum like an e1000's.
    const garp = await wire.next((f) => parseArp(f)?.spa === GUEST_IP);
    expect(garp.length).toBe(60);
    expect([...garp.subarray(0, 6)]).toEqual([255, 255, 255, 255, 255, 255]);
    const guestMac = garp.slice(6, 12);
    expect(parseArp(garp)).toMatchObject({ op: 1, spa: GUEST_IP, tpa: GUEST_IP });

    // ARP request in (60 bytes, as a QEMU guest sends it) -> ARP reply out.
    const mark = wire.frames.length;
    wire.send(arpFrame({ op: 1, sha: HOST_MAC, spa: ip('10.9.0.7'), tpa: GUEST_IP }));
    const reply = await wire.next(
      (f) => parseArp(f)?.op === 2 && parseArp(f)?.tpa === ip('10.9.0.7'),
      mark,
    );
    expect(reply.length).toBe(60);
    expect([...reply.subarray(0, 6)]).toEqual([...HOST_MAC]);
    expect(parseArp(reply)).toEqual({
      op: 2,
      sha: guestMac,
      spa: GUEST_IP,
      tha: HOST_MAC,
      tpa: ip('10.9.0.7'),
    });

    // ICMP echo in -> echo reply out, both checksums right, data echoed.
    const data = Uint8Array.from({ length: 56 }, (_, i) => i * 7);
    wire.send(ipv4Frame(guestMac, ip('10.9.0.7'), GUEST_IP, 1, icmpEcho(0x4242, 9, data)));
    const echo = await wire.next((f) => {
      const p = parseIpv4(f);
      return p?.proto === 1 && p.l4[0] === 0 && p.dst === ip('10.9.0.7');
    }, mark);
    const p = parseIpv4(echo);
    expect(p?.headerOk).toBe(true);
    expect(internetChecksum(p?.l4 ?? new Uint8Array(1))).toBe(0);
    expect([...(p?.l4.subarray(4, 8) ?? [])]).toEqual([0x42, 0x42, 0, 9]);
    expect([...(p?.l4.subarray(8) ?? [])]).toEqual([...data]);

    expect(await exitOf(g), g.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
    expect(g.consoleLog).toContain('3 packets transmitted, 3 received, 0% packet loss');
    const json = JSON.parse(
      g.consoleLog.find((l) => l.startsWith('netperf-json '))?.slice(13) ?? '{}',
    );
    expect(json.transactions).toBeGreaterThan(3);
    expect(json.corrupt).toBe(0);
    // The guest offloaded its UDP checksums; the wire backend completed every one.
    expect(udpVerified).toBeGreaterThan(3);
    expect(udpBad).toBe(0);
    expect(nicCounters(g).csumCompleted).toBeGreaterThan(3);
    // Every datagram is one whole frame: 60..1514 bytes.
    expect(wire.frames.every((f) => f.length >= 60 && f.length <= 1514)).toBe(true);
  });

  test('runt and oversize datagrams are counted and dropped; the guest goes on', async () => {
    const host = await udpSocket();
    const wire = recorder(host);
    const vmm = testVmm();
    const [g] = await vmm.createDomains([
      dgramGuest('runts', host.address().port, '10.9.1.2/24', ['idle']),
    ]);
    vmm.start(g);
    const garp = await wire.next((f) => parseArp(f) !== null);
    wire.send(new Uint8Array(10));
    wire.send(new Uint8Array(2000));
    await until(
      () => nicCounters(g).wireRxRunts === 1 && nicCounters(g).wireRxOversize === 1,
      5000,
      'counted',
    );
    const mark = wire.frames.length;
    wire.send(arpFrame({ op: 1, sha: HOST_MAC, spa: ip('10.9.1.1'), tpa: ip('10.9.1.2') }));
    await wire.next((f) => parseArp(f)?.op === 2, mark);
    expect(nicCounters(g).rxFrames).toBe(1);
    expect(garp.length).toBe(60);
    await vmm.shutdown(g, 2000);
  });

  test('a pulled cable: the wire drops and counts frames for the guest until it is plugged back', async () => {
    const host = await udpSocket();
    const wire = recorder(host);
    const vmm = testVmm();
    const [g] = await vmm.createDomains([
      dgramGuest('wire-link', host.address().port, '10.9.4.2/24', ['idle']),
    ]);
    vmm.start(g);
    await wire.next((f) => parseArp(f)?.spa === ip('10.9.4.2'));
    const ask = () =>
      wire.send(arpFrame({ op: 1, sha: HOST_MAC, spa: ip('10.9.4.1'), tpa: ip('10.9.4.2') }));
    const isReply = (f: Uint8Array) => parseArp(f)?.op === 2;

    expect(vmm.setLink(g, 0, false)).toBe(true);
    await lineMatching(g, /virtio-net: eth0: link down/);
    const rxBefore = nicCounters(g).rxFrames;
    const mark = wire.frames.length;
    ask();
    ask();
    await until(() => nicCounters(g).rxLinkDown === 2, 5000, 'frames dropped at the wire');
    // Dropped at the backend: nothing reached the guest's rx ring, nothing answered.
    expect(nicCounters(g).rxFrames).toBe(rxBefore);
    expect(wire.frames.slice(mark).filter(isReply)).toHaveLength(0);

    expect(vmm.setLink(g, 0, true)).toBe(true);
    await lineMatching(g, /virtio-net: eth0: link up/);
    const back = wire.frames.length;
    await wire.next((f) => parseArp(f)?.spa === ip('10.9.4.2'), back); // gratuitous ARP
    ask();
    await wire.next(isReply, back);
    expect(nicCounters(g).rxLinkDown).toBe(2);
    await vmm.shutdown(g, 2000);
  });

  test('a peer that is not listening: frames are sent into the void, counted, nothing breaks', async () => {
    const gone = await udpSocket();
    const port = gone.address().port;
    gone.close();
    sockets.splice(sockets.indexOf(gone), 1);
    const vmm = testVmm();
    const [g] = await vmm.createDomains([
      dgramGuest('lonely', port, '10.9.2.2/24', ['ping 10.9.2.1 2 50']),
    ]);
    vmm.start(g);
    expect((await exitOf(g)).code).toBe(1);
    expect(g.consoleLog).toContain('2 packets transmitted, 0 received, 100% packet loss');
    expect(nicCounters(g).wireTxFrames).toBeGreaterThanOrEqual(2);
  });

  test('a local port that is taken fails the domain creation with the socket error', async () => {
    const taken = await udpSocket();
    const vmm = testVmm();
    await expect(
      vmm.createDomains([
        netDomain(
          'clash',
          [{ backend: 'dgram', local: `127.0.0.1:${taken.address().port}`, remote: '127.0.0.1:9' }],
          [],
        ),
      ]),
    ).rejects.toThrow(/dgram: cannot bind 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(vmm.workerCount()).toBeLessThanOrEqual(1);
  });
});

describe('stream: TCP with a 4-byte big-endian length before each frame', () => {
  test('two guests, one listening and one connecting, ping each other', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const vmm = testVmm();
    const [srv] = await vmm.createDomains([
      netDomain(
        'st-srv',
        [{ backend: 'stream', listen: `127.0.0.1:${port}`, ip: '10.9.3.1/24' }],
        ['ping 10.9.3.2 3 100', 'idle 1.5'],
      ),
    ]);
    const [cli] = await vmm.createDomains([
      netDomain(
        'st-cli',
        [{ backend: 'stream', connect: `127.0.0.1:${port}`, ip: '10.9.3.2/24' }],
        ['ping 10.9.3.1 3 100', 'idle 1.5'],
      ),
    ]);
    for (const d of [srv, cli]) vmm.start(d);
    for (const d of [srv, cli]) {
      expect(await exitOf(d), d.consoleText()).toEqual({ reason: 'poweroff', code: 0 });
      expect(d.consoleLog.some((l) => /3 packets transmitted, [23] received/.test(l))).toBe(true);
    }
    expect(nicCounters(cli).wireConnects).toBe(1);
  });

  test('a Node TCP server reads length-prefixed frames and feeds split ones back', async () => {
    const server = createServer();
    sockets.push(server);
    const conn = new Promise<TcpSocket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const vmm = testVmm();
    const [g] = await vmm.createDomains([
      netDomain(
        'st-node',
        [{ backend: 'stream', connect: `127.0.0.1:${port}`, ip: '10.9.4.2/24' }],
        ['idle'],
      ),
    ]);
    vmm.start(g);
    const s = await within(conn, 10_000, 'guest connects');
    let bytes = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
    });
    const frames = () => {
      const out: Uint8Array[] = [];
      for (let at = 0; at + 4 <= bytes.length; ) {
        const n = bytes.readUInt32BE(at);
        if (at + 4 + n > bytes.length) break;
        out.push(new Uint8Array(bytes.subarray(at + 4, at + 4 + n)));
        at += 4 + n;
      }
      return out;
    };
    await until(
      () => frames().some((f) => parseArp(f)?.spa === ip('10.9.4.2')),
      5000,
      'gratuitous ARP',
    );
    // QEMU's stream does not pad: the ARP frame is 42 bytes behind its prefix.
    expect(bytes.readUInt32BE(0)).toBe(42);
    const req = arpFrame({
      op: 1,
      sha: HOST_MAC,
      spa: ip('10.9.4.1'),
      tpa: ip('10.9.4.2'),
      pad: false,
    });
    const msg = Buffer.alloc(4 + req.length);
    msg.writeUInt32BE(req.length, 0);
    msg.set(req, 4);
    // Split inside the prefix and inside the frame: the decoder must reassemble.
    for (const [a, b] of [
      [0, 2],
      [2, 20],
      [20, msg.length],
    ]) {
      s.write(msg.subarray(a, b));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => frames().some((f) => parseArp(f)?.op === 2), 5000, 'ARP reply');
    // A length beyond any frame: the stream cannot resync, the guest's side closes it.
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await within(closed, 5000, 'backend closes a broken stream');
    await until(() => nicCounters(g).wireRxErrors >= 1, 5000, 'counted');
    await vmm.shutdown(g, 2000);
  });
});
