import { internetChecksum } from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import { IPV4_HLEN, parseIpv4, type UdpFrom } from '../src/net/index.ts';
import { type Host, ManualClock, makeHost, pump } from './support/net-harness.ts';

const A_IP = parseIpv4('10.0.0.1')!;
const B_IP = parseIpv4('10.0.0.2')!;

function pair(opts: { offload?: boolean; guestCsum?: boolean } = {}) {
  const clock = new ManualClock();
  const a = makeHost('alpha', clock, { ip: '10.0.0.1/24', ...opts });
  const b = makeHost('beta', clock, { ip: '10.0.0.2/24', ...opts });
  pump([a, b]); // gratuitous ARPs
  return { clock, a, b };
}

/** Verify the UDP checksum of a captured frame against the RFC with a fresh sum. */
function udpChecksumValid(frame: Uint8Array): boolean {
  const ip = 14;
  const udp = ip + IPV4_HLEN;
  const len = (frame[udp + 4] << 8) | frame[udp + 5];
  const pseudo = new Uint8Array(12 + len);
  pseudo.set(frame.subarray(ip + 12, ip + 20), 0);
  pseudo[9] = 17;
  pseudo[10] = len >> 8;
  pseudo[11] = len & 0xff;
  pseudo.set(frame.subarray(udp, udp + len), 12);
  return internetChecksum(pseudo) === 0;
}

function udpEcho(server: Host, port: number): () => void {
  const sock = server.stack.udpSocket();
  expect(sock.bind(port)).toBeNull();
  const buf = new Uint8Array(2048);
  const from: UdpFrom = { addr: 0, port: 0 };
  return () => {
    for (let n = sock.recvFrom(buf, from); typeof n === 'number'; n = sock.recvFrom(buf, from)) {
      expect(sock.sendTo(buf.subarray(0, n), from.addr, from.port)).toBe(n);
    }
  };
}

describe('two stacks back to back', () => {
  test('gratuitous ARP on link up teaches nothing unasked (RFC 826 merge rule)', () => {
    const { a, b } = pair();
    expect(a.iface.stats.arpGratuitousSent).toBe(1);
    expect(b.iface.stats.arpRequestsIn).toBe(1);
    expect(b.iface.arp.size).toBe(0);
  });

  test('ARP resolves on first send; the queued packet follows the reply', () => {
    const { a, b } = pair();
    const rx = b.stack.udpSocket();
    rx.bind(7000);
    const tx = a.stack.udpSocket();
    expect(tx.sendTo(new Uint8Array([1, 2, 3]), B_IP, 7000)).toBe(3);
    expect(a.iface.arp.queuedPackets).toBe(1);
    expect(a.iface.stats.arpRequestsSent).toBe(1);
    pump([a, b]);
    expect(b.iface.stats.arpRepliesSent).toBe(1);
    expect(a.iface.arp.size).toBe(1);
    expect(b.iface.arp.size).toBe(1); // learned from a request addressed to it
    const d = rx.tryRecv()!;
    expect([...d.data]).toEqual([1, 2, 3]);
    expect(d.srcAddr).toBe(A_IP);
    expect(d.srcPort).toBe(tx.localPort);
    expect(tx.localPort).toBeGreaterThanOrEqual(49152);
  });

  test('ping: replies matched by sequence with RTT and TTL, payload verified', () => {
    const { clock, a, b } = pair();
    const ping = a.stack.pingSocket();
    let woken = 0;
    ping.onReadable = () => woken++;
    const replies = [];
    for (let seq = 1; seq <= 3; seq++) {
      expect(ping.send(B_IP, seq)).toBe(64);
      clock.advance(5);
      pump([a, b]);
      expect(ping.readable).toBe(true);
      replies.push(ping.tryRecv());
    }
    // Edge-triggered: one wake-up per empty → non-empty transition.
    expect(woken).toBe(3);
    expect(replies.map((r) => r!.seq)).toEqual([1, 2, 3]);
    for (const r of replies) {
      expect(r).toMatchObject({ from: B_IP, ttl: 64, bytes: 64, rttMs: 5, payloadOk: true });
    }
    expect(ping.tryRecv()).toBeNull();
    expect(b.iface.stats.icmpEchoRequestsIn).toBe(3);
    expect(b.iface.stats.icmpEchoRepliesOut).toBe(3);
  });

  for (const mode of [
    { name: 'without offload', offload: false, guestCsum: false },
    { name: 'with CSUM offload, receiver completes', offload: true, guestCsum: false },
    { name: 'with CSUM offload, DATA_VALID delivery', offload: true, guestCsum: true },
  ]) {
    test(`UDP echo ${mode.name}`, () => {
      const { a, b } = pair(mode);
      const serve = udpEcho(b, 9);
      const client = a.stack.udpSocket();
      client.bind(5555);
      const sizes = [0, 1, 17, 512, 1472];
      const captured: Uint8Array[] = [];
      for (const size of sizes) {
        const payload = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
        expect(client.sendTo(payload, B_IP, 9)).toBe(size);
        const out = a.link.sent.filter((s) => s.frame[23] === 17);
        for (const s of out) {
          expect(s.needsCsum !== undefined).toBe(mode.offload);
          if (mode.offload) expect(s.needsCsum).toEqual({ start: 34, offset: 6 });
          else captured.push(s.frame);
        }
        pump([a, b]);
        serve();
        pump([a, b]);
        const back = client.tryRecv()!;
        expect(back.data).toEqual(payload);
        expect(back.srcPort).toBe(9);
      }
      for (const frame of captured) expect(udpChecksumValid(frame)).toBe(true);
      expect(b.iface.stats.udpBadChecksum + a.iface.stats.udpBadChecksum).toBe(0);
      expect(b.iface.stats.udpIn).toBe(sizes.length);
    });
  }

  test('a corrupted UDP checksum is dropped unless the device vouched DATA_VALID', () => {
    const { a, b } = pair();
    const rx = b.stack.udpSocket();
    rx.bind(7);
    a.stack.udpSocket().sendTo(new Uint8Array(40).fill(9), B_IP, 7);
    pump([a, b]); // resolve and deliver
    expect(rx.queued).toBe(1);
    a.stack.udpSocket().sendTo(new Uint8Array(40).fill(9), B_IP, 7);
    const [sent] = a.link.take();
    sent.frame[50] ^= 0xff;
    b.iface.receive(sent.frame);
    expect(b.iface.stats.udpBadChecksum).toBe(1);
    b.iface.receive(sent.frame, { dataValid: true });
    expect(rx.queued).toBe(2);
  });

  test('a zero UDP checksum means "none" and is accepted', () => {
    const { a, b } = pair();
    const rx = b.stack.udpSocket();
    rx.bind(7);
    a.stack.udpSocket().sendTo(new Uint8Array([5]), B_IP, 7);
    pump([a, b]);
    a.stack.udpSocket().sendTo(new Uint8Array([6]), B_IP, 7);
    const [sent] = a.link.take();
    sent.frame[40] = 0;
    sent.frame[41] = 0;
    b.iface.receive(sent.frame);
    expect(rx.queued).toBe(2);
  });

  test('TTL: the socket TTL is on the wire and reported by the receiver; 0 is refused', () => {
    const { a, b } = pair();
    const ping = a.stack.pingSocket();
    ping.ttl = 3;
    ping.send(B_IP, 1);
    pump([a, b]);
    expect(ping.tryRecv()!.ttl).toBe(64); // the reply carries b's default TTL
    ping.send(B_IP, 2);
    const [req] = a.link.take();
    expect(req.frame[14 + 8]).toBe(3);
    ping.ttl = 0;
    expect(ping.send(B_IP, 3)).toBe('EINVAL');
    const sock = a.stack.udpSocket();
    sock.ttl = 1;
    sock.sendTo(new Uint8Array(1), B_IP, 9);
    expect(a.link.take()[0].frame[22]).toBe(1);
    sock.ttl = 256;
    expect(sock.sendTo(new Uint8Array(1), B_IP, 9)).toBe('EINVAL');
  });

  test('no fragmentation: a datagram over the MTU is EMSGSIZE and nothing is sent', () => {
    const { a } = pair();
    const sock = a.stack.udpSocket();
    expect(sock.sendTo(new Uint8Array(1473), B_IP, 9)).toBe('EMSGSIZE');
    expect(sock.sendTo(new Uint8Array(1472), B_IP, 9)).toBe(1472);
    expect(a.stack.pingSocket().send(B_IP, 1, 1473)).toBe('EMSGSIZE');
    expect(a.link.sent.length).toBe(1); // the ARP request for the 1472-byte datagram
  });

  test('receive queue overflow drops and counts; draining makes room again', () => {
    const { a, b } = pair();
    const rx = b.stack.udpSocket({ rcvDatagrams: 4 });
    rx.bind(7);
    const tx = a.stack.udpSocket();
    for (let i = 0; i < 10; i++) tx.sendTo(new Uint8Array([i]), B_IP, 7);
    pump([a, b]);
    expect(rx.queued).toBe(4);
    expect(rx.drops).toBe(6);
    expect(b.iface.stats.udpQueueDrops).toBe(6);
    expect([...rx.tryRecv()!.data]).toEqual([0]);
    tx.sendTo(new Uint8Array([42]), B_IP, 7);
    pump([a, b]);
    expect(rx.queued).toBe(4);
  });

  test('a full tx queue returns ENOBUFS and is counted', () => {
    const { a, b } = pair();
    a.stack.pingSocket().send(B_IP, 1);
    pump([a, b]);
    a.link.full = true;
    expect(a.stack.udpSocket().sendTo(new Uint8Array(4), B_IP, 9)).toBe('ENOBUFS');
    expect(a.iface.stats.txNoBuffer).toBe(1);
  });

  test('link down: sends fail with ENETDOWN, frames received are counted and dropped', () => {
    const { a, b } = pair();
    a.iface.setLinkUp(false);
    expect(a.stack.udpSocket().sendTo(new Uint8Array(4), B_IP, 9)).toBe('ENETDOWN');
    b.stack.pingSocket().send(A_IP, 1);
    pump([a, b]);
    expect(a.iface.stats.rxLinkDown).toBeGreaterThan(0);
    a.iface.setLinkUp(true);
    expect(a.iface.stats.arpGratuitousSent).toBe(2);
  });
});
