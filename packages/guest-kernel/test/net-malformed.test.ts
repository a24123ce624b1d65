import { internetChecksum } from '@pvkit/virtio-ring';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type NetStats, parseIpv4 } from '../src/net/index.ts';
import { emptyIpv4Header, parseIpv4Header, writeIpv4 } from '../src/net/ipv4.ts';
import { ManualClock, makeHost, pump } from './support/net-harness.ts';

const A_IP = parseIpv4('10.0.0.1')!;

/** Host `a` with a bound UDP socket on port 7, and one valid UDP frame to it from `b`. */
function fixture() {
  const clock = new ManualClock();
  const a = makeHost('alpha', clock, { ip: '10.0.0.1/24' });
  const b = makeHost('beta', clock, { ip: '10.0.0.2/24' });
  const sock = a.stack.udpSocket();
  sock.bind(7);
  b.stack.udpSocket().sendTo(new Uint8Array([1, 2, 3, 4]), A_IP, 7);
  pump([a, b]);
  sock.tryRecv();
  b.stack.udpSocket().sendTo(new Uint8Array([1, 2, 3, 4]), A_IP, 7);
  const udp = b.link.take()[0].frame;
  b.stack.pingSocket(77).send(A_IP, 1, 8);
  const echo = b.link.take()[0].frame;
  return { a, b, sock, udp, echo };
}

/** Recompute the IPv4 header checksum after editing the header. */
function fixIpChecksum(f: Uint8Array): Uint8Array {
  const ihl = (f[14] & 0xf) * 4;
  f[24] = 0;
  f[25] = 0;
  const c = internetChecksum(f, 14, 14 + ihl);
  f[24] = c >> 8;
  f[25] = c & 0xff;
  return f;
}

function edit(frame: Uint8Array, fn: (f: Uint8Array) => void): Uint8Array {
  const f = frame.slice();
  fn(f);
  return f;
}

type Counter = keyof NetStats;

describe('malformed frames are counted and dropped, never thrown', () => {
  const cases: Array<[string, (udp: Uint8Array, echo: Uint8Array) => Uint8Array, Counter]> = [
    ['runt Ethernet frame', (u) => u.slice(0, 13), 'rxMalformed'],
    ['another host’s MAC', (u) => edit(u, (f) => (f[5] ^= 1)), 'rxNotForUs'],
    ['IPv6 EtherType', (u) => edit(u, (f) => f.set([0x86, 0xdd], 12)), 'rxUnknownEtherType'],
    ['truncated IPv4 header', (u) => u.slice(0, 14 + 19), 'rxMalformed'],
    ['IP version 6', (u) => fixIpChecksum(edit(u, (f) => (f[14] = 0x65))), 'rxMalformed'],
    ['IHL below 5', (u) => fixIpChecksum(edit(u, (f) => (f[14] = 0x44))), 'rxMalformed'],
    ['IHL past the frame', (u) => edit(u, (f) => (f[14] = 0x4f)).slice(0, 14 + 40), 'rxMalformed'],
    [
      'total length past the frame',
      (u) => fixIpChecksum(edit(u, (f) => (f[17] += 1))),
      'rxMalformed',
    ],
    [
      'total length below IHL',
      (u) => fixIpChecksum(edit(u, (f) => f.set([0, 19], 16))),
      'rxMalformed',
    ],
    ['bad IP header checksum', (u) => edit(u, (f) => (f[25] ^= 0x40)), 'ipBadChecksum'],
    [
      'first fragment (MF)',
      (u) => fixIpChecksum(edit(u, (f) => (f[20] = 0x20))),
      'ipFragmentsDropped',
    ],
    [
      'later fragment (offset)',
      (u) => fixIpChecksum(edit(u, (f) => (f[21] = 0x10))),
      'ipFragmentsDropped',
    ],
    ['IP destination not ours', (u) => fixIpChecksum(edit(u, (f) => (f[33] = 9))), 'ipNotForUs'],
    ['IP source 0.0.0.0', (u) => fixIpChecksum(edit(u, (f) => f.fill(0, 26, 30))), 'ipBadSource'],
    ['IP protocol TCP', (u) => fixIpChecksum(edit(u, (f) => (f[23] = 6))), 'ipUnknownProto'],
    ['UDP length below 8', (u) => edit(u, (f) => f.set([0, 7], 38)), 'rxMalformed'],
    ['UDP length past the datagram', (u) => edit(u, (f) => f.set([0, 13], 38)), 'rxMalformed'],
    [
      'UDP truncated by IP length',
      (u) => fixIpChecksum(edit(u, (f) => f.set([0, 27], 16))),
      'rxMalformed',
    ],
    ['UDP bad checksum', (u) => edit(u, (f) => (f[42] ^= 1)), 'udpBadChecksum'],
    [
      'UDP port nobody bound', // Port 0xfffe, and checksum 0 ("none") so only the port is wrong.
      (u) => edit(u, (f) => f.set([0xff, 0xfe, 0, 12, 0, 0], 36)),
      'udpNoPort',
    ],
    [
      'ICMP shorter than 8',
      (_, e) => fixIpChecksum(edit(e, (f) => f.set([0, 27], 16))),
      'rxMalformed',
    ],
    ['ICMP bad checksum', (_, e) => edit(e, (f) => (f[40] ^= 1)), 'icmpBadChecksum'],
  ];

  for (const [name, make, counter] of cases) {
    test(name, () => {
      const { a, sock, udp, echo } = fixture();
      const before = { ...a.iface.stats };
      a.link.take();
      expect(() => a.iface.receive(make(udp, echo))).not.toThrow();
      expect(a.iface.stats[counter]).toBe(before[counter] + 1);
      expect(sock.queued).toBe(0);
      expect(a.link.take()).toEqual([]); // nothing answered
    });
  }

  test('the unmodified frames are accepted (the cases above test one thing each)', () => {
    const { a, sock, udp, echo } = fixture();
    a.iface.receive(udp);
    a.iface.receive(echo);
    expect(sock.queued).toBe(1);
    expect(a.iface.stats.icmpEchoRepliesOut).toBe(1);
  });

  test('Ethernet padding after the datagram is ignored; IP options are skipped', () => {
    const { a, sock, udp } = fixture();
    const padded = new Uint8Array(udp.length + 20);
    padded.set(udp);
    a.iface.receive(padded);
    expect([...sock.tryRecv()!.data]).toEqual([1, 2, 3, 4]);
    // Insert a 4-byte NOP option block: IHL 6, total length + 4.
    const opt = new Uint8Array(udp.length + 4);
    opt.set(udp.subarray(0, 34));
    opt.set([1, 1, 1, 1], 34);
    opt.set(udp.subarray(34), 38);
    opt[14] = 0x46;
    opt[17] += 4;
    a.iface.receive(fixIpChecksum(opt));
    expect([...sock.tryRecv()!.data]).toEqual([1, 2, 3, 4]);
  });

  test('echo requests to a broadcast address are ignored; unknown ICMP types counted', () => {
    const { a, echo } = fixture();
    a.link.take();
    a.iface.receive(fixIpChecksum(edit(echo, (f) => f.set([10, 0, 0, 255], 30))));
    expect(a.iface.stats.icmpBroadcastIgnored).toBe(1);
    const ts = edit(echo, (f) => {
      f[34] = 13; // timestamp request
      f.set([0, 0], 36);
      const c = internetChecksum(f, 34, f.length);
      f.set([c >> 8, c & 0xff], 36);
    });
    a.iface.receive(ts);
    expect(a.iface.stats.icmpOtherTypes).toBe(1);
    expect(a.link.take()).toEqual([]);
  });

  test('an echo reply for no open ping socket is counted as unmatched', () => {
    const { a, b } = fixture();
    const ping = a.stack.pingSocket(5);
    ping.send(b.iface.ip.addr, 1);
    ping.close();
    pump([a, b]);
    expect(a.iface.stats.icmpUnmatched).toBe(1);
  });
});

describe('fuzz', () => {
  test('random bytes never throw', () => {
    const { a } = fixture();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.boolean(), (bytes, dataValid) => {
        a.iface.receive(bytes, { dataValid });
      }),
      { numRuns: 2000 },
    );
    expect(a.iface.stats.rxFrames).toBeGreaterThan(2000);
  });

  test('one corrupted byte of a UDP frame: the payload arrives intact or not at all', () => {
    const { a, sock, udp } = fixture();
    fc.assert(
      fc.property(fc.nat(udp.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const f = udp.slice();
        f[at] ^= x;
        a.iface.receive(f);
        const d = sock.tryRecv();
        if (d !== null) {
          expect([...d.data]).toEqual([1, 2, 3, 4]);
          expect(at >= 6 && at < 12).toBe(true); // only the Ethernet source may change
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('frames built from valid headers with random fields never throw', () => {
    const { a, udp, echo } = fixture();
    fc.assert(
      fc.property(
        fc.constantFrom(udp, echo),
        fc.array(fc.tuple(fc.nat(120), fc.nat(255)), { maxLength: 6 }),
        fc.nat(130),
        (base, edits, cut) => {
          const f = base.slice(0, Math.max(0, base.length - (cut % (base.length + 1))));
          for (const [at, v] of edits) if (at < f.length) f[at] = v;
          if (f.length >= 14 + (f[14] & 0xf) * 4) fixIpChecksum(f);
          a.iface.receive(f);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('IPv4 header checksum fast paths', () => {
  test('writeIpv4 stores the RFC 1071 checksum; parse accepts it and refuses any flipped bit', () => {
    fc.assert(
      fc.property(
        fc.record({
          total: fc.integer({ min: 20, max: 1500 }),
          id: fc.nat(0xffff),
          ttl: fc.integer({ min: 1, max: 255 }),
          proto: fc.nat(255),
          src: fc.nat(0xffffffff),
          dst: fc.nat(0xffffffff),
          bit: fc.nat(159),
        }),
        (h) => {
          const b = new Uint8Array(2 + h.total);
          writeIpv4(b, 2, h.total, h.id, h.ttl, h.proto, h.src, h.dst);
          expect(internetChecksum(b, 2, 22)).toBe(0);
          const out = emptyIpv4Header();
          expect(parseIpv4Header(b, 2, h.total, out)).toBeNull();
          expect(out).toMatchObject({ totalLen: h.total, src: h.src, dst: h.dst, proto: h.proto });
          // Any single flipped bit breaks the sum (or the header itself).
          b[2 + (h.bit >>> 3)] ^= 1 << (h.bit & 7);
          const err = parseIpv4Header(b, 2, h.total, out);
          expect(err).not.toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });
});
