import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  formatIpv4,
  ipConfig,
  NetStack,
  parseIpConfig,
  parseIpv4,
  type UdpFrom,
  UdpSocket,
} from '../src/net/index.ts';
import { hex, ManualClock, MemLink, makeHost, pump } from './support/net-harness.ts';

const ip = (s: string) => parseIpv4(s)!;

describe('IPv4 addresses and "A.B.C.D/prefix"', () => {
  test('parse and format', () => {
    expect(parseIpv4('192.168.1.254')).toBe(0xc0a801fe);
    expect(formatIpv4(0xc0a801fe)).toBe('192.168.1.254');
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', 'a.b.c.d', '']) {
      expect(parseIpv4(bad)).toBeNull();
    }
    fc.assert(
      fc.property(fc.nat(0xffffffff), (a) => {
        expect(parseIpv4(formatIpv4(a))).toBe(a);
      }),
    );
  });

  test('config: mask, network, broadcast; clear errors for the rest', () => {
    expect(ipConfig('10.1.2.3/24')).toEqual({
      addr: 0x0a010203,
      prefix: 24,
      mask: 0xffffff00,
      network: 0x0a010200,
      broadcast: 0x0a0102ff,
    });
    expect(ipConfig('10.1.2.3').prefix).toBe(32);
    expect(ipConfig('10.0.0.0/31').broadcast).toBe(0xffffffff);
    const err = (s: string) => {
      const r = parseIpConfig(s);
      return r.ok ? null : r.error;
    };
    expect(err('10.0.0.1/33')).toMatch(/prefix/);
    expect(err('10.0.0.0/24')).toMatch(/network or broadcast/);
    expect(err('10.0.0.255/24')).toMatch(/network or broadcast/);
    expect(err('224.0.0.1/4')).toMatch(/cannot be/);
    expect(err('10.0.0.1/24/1')).toMatch(/more than one/);
    expect(err('nope/24')).toMatch(/not an IPv4/);
    expect(() => ipConfig('x')).toThrow(RangeError);
  });
});

describe('UDP socket semantics', () => {
  const one = () => makeHost('solo', new ManualClock(), { ip: '10.0.0.1/24' });

  test('bind: explicit, ephemeral, in use, bad port, foreign address, twice', () => {
    const { stack } = one();
    const s1 = stack.udpSocket();
    expect(s1.bind(53)).toBeNull();
    expect(stack.udpSocket().bind(53)).toBe('EADDRINUSE');
    expect(stack.udpSocket().bind(70000)).toBe('EINVAL');
    expect(stack.udpSocket().bind(54, ip('10.9.9.9'))).toBe('EADDRNOTAVAIL');
    expect(s1.bind(54)).toBe('EINVAL');
    const s2 = stack.udpSocket();
    expect(s2.bind(0)).toBeNull();
    expect(s2.localPort).toBe(49152);
    s1.close();
    expect(stack.udpSocket().bind(53)).toBeNull(); // released
    expect(s1.sendTo(new Uint8Array(1), ip('10.0.0.2'), 1)).toBe('EBADF');
    expect(s1.recvFrom(new Uint8Array(1))).toBe('EBADF');
  });

  test('recvFrom: EAGAIN when empty, full length reported when truncated', () => {
    const { stack } = one();
    const a = stack.udpSocket();
    a.bind(1000);
    const b = stack.udpSocket();
    expect(a.recvFrom(new Uint8Array(4))).toBe('EAGAIN');
    // Our own address is delivered locally, without the link.
    expect(b.sendTo(new Uint8Array([1, 2, 3, 4, 5, 6]), ip('10.0.0.1'), 1000)).toBe(6);
    const into = new Uint8Array(4);
    const from: UdpFrom = { addr: 0, port: 0 };
    expect(a.recvFrom(into, from)).toBe(6);
    expect([...into]).toEqual([1, 2, 3, 4]);
    expect(from).toEqual({ addr: ip('10.0.0.1'), port: b.localPort });
  });

  test('broadcast needs the broadcast flag, then goes to ff:ff:ff:ff:ff:ff', () => {
    const { stack, link } = one();
    link.take();
    const s = stack.udpSocket();
    expect(s.sendTo(new Uint8Array(1), ip('10.0.0.255'), 9)).toBe('EACCES');
    expect(s.sendTo(new Uint8Array(1), 0xffffffff, 9)).toBe('EACCES');
    s.broadcast = true;
    expect(s.sendTo(new Uint8Array(1), ip('10.0.0.255'), 9)).toBe(1);
    expect(s.sendTo(new Uint8Array(1), 0xffffffff, 9)).toBe(1);
    const frames = link.take();
    expect(frames.length).toBe(2);
    for (const f of frames) expect([...f.frame.subarray(0, 6)]).toEqual(Array(6).fill(0xff));
  });

  test('routing: off-subnet needs a gateway; the gateway is ARPed, not the destination', () => {
    const { stack } = one();
    expect(stack.udpSocket().sendTo(new Uint8Array(1), ip('8.8.8.8'), 53)).toBe('ENETUNREACH');
    expect(stack.udpSocket().sendTo(new Uint8Array(1), 0, 53)).toBe('EINVAL');
    expect(stack.udpSocket().sendTo(new Uint8Array(1), ip('239.1.1.1'), 53)).toBe('ENETUNREACH');
    const clock = new ManualClock();
    const link = new MemLink(hex('020000000001'));
    const gw = new NetStack({ clock });
    const iface = gw.addInterface(link, { ip: '10.0.0.1/24', gateway: '10.0.0.254' });
    iface.setLinkUp(true);
    link.take();
    expect(gw.udpSocket().sendTo(new Uint8Array(1), ip('8.8.8.8'), 53)).toBe(1);
    const [arp] = link.take();
    expect([...arp.frame.subarray(38, 42)]).toEqual([10, 0, 0, 254]);
    expect(() => gw.addInterface(new MemLink(hex('020000000003')), { ip: '10.0.0.1/24' })).toThrow(
      /already/,
    );
    expect(() =>
      new NetStack({ clock }).addInterface(link, { ip: '10.0.0.1/24', gateway: '10.0.1.1' }),
    ).toThrow(/subnet/);
  });

  test('two interfaces: each subnet leaves by its own link', () => {
    const clock = new ManualClock();
    const stack = new NetStack({ clock });
    const l0 = new MemLink(hex('020000000010'));
    const l1 = new MemLink(hex('020000000011'));
    stack.addInterface(l0, { ip: '10.0.0.1/24' }).setLinkUp(true);
    stack.addInterface(l1, { ip: '192.168.5.1/24' }).setLinkUp(true);
    expect(stack.interfaces.map((i) => i.name)).toEqual(['eth0', 'eth1']);
    l0.take();
    l1.take();
    stack.udpSocket().sendTo(new Uint8Array(1), ip('192.168.5.7'), 9);
    expect([l0.sent.length, l1.sent.length]).toEqual([0, 1]);
  });

  test('the receive ring keeps FIFO order and exact bytes under any mix of sizes', () => {
    // Model check: a plain array queue with the same byte and count bounds.
    const host = { bindUdp: () => null, unbindUdp: () => {}, sendUdp: () => 0 };
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(700), fc.constant(-1)), { maxLength: 300 }), (ops) => {
        const sock = new UdpSocket(host, { rcvBytes: 2000, rcvDatagrams: 8 });
        // Records keep their source's phase modulo 8 (the copy out of guest memory is then word-wise).
        const ring = sock as unknown as { qOff: Int32Array; first: number; count: number };
        const model: Uint8Array[] = [];
        let used = 0;
        let n = 0;
        for (const op of ops) {
          if (op < 0) {
            const got = sock.tryRecv();
            const want = model.shift();
            if (want) used -= want.length;
            expect(got?.data ?? null).toEqual(want ?? null);
            continue;
          }
          const data = Uint8Array.from({ length: op }, (_, i) => (n + i) & 0xff);
          const phase = n % 8;
          const src = new Uint8Array(phase + op);
          src.set(data, phase);
          n++;
          const ok = sock.deliver(src, phase, data.length, 1, 2, 3);
          const last = ring.qOff[(ring.first + ring.count - 1) % 8];
          if (ok && phase + op <= 2000) expect(last % 8).toBe(phase);
          // The ring may refuse when fragmented, but never accept beyond the bounds.
          if (ok) {
            model.push(data);
            used += data.length;
          }
          expect(used).toBeLessThanOrEqual(2000);
          expect(model.length).toBeLessThanOrEqual(8);
          if (model.length < 8 && used + data.length <= 1000) expect(ok).toBe(true);
        }
        while (model.length > 0) expect(sock.tryRecv()!.data).toEqual(model.shift());
        expect(sock.tryRecv()).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

describe('ping socket', () => {
  test('identifiers are unique; replies for a closed socket are not delivered', () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, { ip: '10.0.0.1/24' });
    const b = makeHost('beta', clock, { ip: '10.0.0.2/24' });
    const p1 = a.stack.pingSocket();
    const p2 = a.stack.pingSocket();
    expect(p1.id).not.toBe(p2.id);
    expect(() => a.stack.pingSocket(p1.id)).toThrow(/in use/);
    p2.send(ip('10.0.0.2'), 9);
    p2.close();
    pump([a, b]);
    expect(p2.tryRecv()).toBeNull();
    expect(p2.send(ip('10.0.0.2'), 10)).toBe('EBADF');
  });

  test('ping to our own address answers at once; unknown sequence has no RTT', () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, { ip: '10.0.0.1/24' });
    const p = a.stack.pingSocket();
    expect(p.send(ip('10.0.0.1'), 1)).toBe(64);
    expect(p.tryRecv()).toMatchObject({ seq: 1, rttMs: 0, payloadOk: true });
    p.deliver(ip('10.0.0.2'), 99, 64, 64, true);
    expect(p.tryRecv()!.rttMs).toBeNull();
    expect(p.send(ip('10.0.0.1'), 70000)).toBe('EINVAL');
    expect(p.send(ip('10.0.0.255'), 1)).toBe('EACCES');
  });
});
