import { describe, expect, test } from 'vitest';
import { writeArp } from '../src/net/arp.ts';
import { ArpCache } from '../src/net/arp-cache.ts';
import { ARP_LEN, ArpOp, NetStats, parseIpv4 } from '../src/net/index.ts';
import { hex, ManualClock, makeHost, pump, toHex } from './support/net-harness.ts';

const B_IP = parseIpv4('10.0.0.2')!;
const C_IP = parseIpv4('10.0.0.3')!;

function arpFrame(op: number, sha: Uint8Array, spa: number, tpa: number, dst = sha): Uint8Array {
  const f = new Uint8Array(14 + ARP_LEN);
  f.set(op === ArpOp.REQUEST ? new Uint8Array(6).fill(0xff) : dst, 0);
  f.set(sha, 6);
  f[12] = 0x08;
  f[13] = 0x06;
  writeArp(f, 14, op, sha, spa, op === ArpOp.REQUEST ? null : dst, tpa);
  return f;
}

describe('ARP cache timeouts', () => {
  test('reachable, then stale with one refresh per retry interval, then gone', () => {
    const stats = new NetStats();
    const requests: number[] = [];
    const cache = new ArpCache(stats, (ip) => requests.push(ip), {
      reachableMs: 100,
      staleMs: 50,
      retryMs: 10,
    });
    const mac = hex('020000000009');
    cache.confirm(B_IP, mac, 0, 0, true);
    expect(cache.lookup(B_IP, 99)).toEqual(mac);
    expect(requests).toEqual([]);
    expect(cache.lookup(B_IP, 100)).toEqual(mac); // stale: still used
    expect(cache.lookup(B_IP, 105)).toEqual(mac);
    expect(requests).toEqual([B_IP]); // one refresh, rate-limited
    expect(cache.lookup(B_IP, 111)).toEqual(mac);
    expect(requests).toEqual([B_IP, B_IP]);
    cache.confirm(B_IP, mac, 0, 120, false); // the refresh was answered
    expect(cache.lookup(B_IP, 200)).toEqual(mac);
    expect(cache.lookup(B_IP, 270)).toBeNull(); // 150 ms since confirmation
    expect(cache.size).toBe(0);
  });

  test('a reachable neighbour costs no clock read per send; its timer turns it stale', () => {
    const clock = new ManualClock();
    const arp = { reachableMs: 100, staleMs: 1000, retryMs: 10 };
    const a = makeHost('alpha', clock, { ip: '10.0.0.1/24', arp });
    const b = makeHost('beta', clock, { ip: '10.0.0.2/24', arp });
    const sock = a.stack.udpSocket();
    sock.sendTo(new Uint8Array(8), B_IP, 9);
    pump([a, b]);
    expect(a.iface.arp.size).toBe(1);
    expect(a.stack.nextDeadline()).toBe(clock.t + 100);
    let reads = 0;
    const now = clock.now.bind(clock);
    clock.now = () => {
      reads++;
      return now();
    };
    for (let i = 0; i < 10; i++) sock.sendTo(new Uint8Array(8), B_IP, 9);
    expect(reads).toBe(0);
    expect(a.link.take().map((s) => toHex(s.frame.subarray(0, 6)))).toEqual(
      new Array(10).fill(toHex(b.link.mac)),
    );
    // The deadline passes: tick() turns the entry stale; the next send still
    // goes out (stale entries are used) and asks for a refresh.
    clock.advance(100);
    const requests = a.iface.stats.arpRequestsSent;
    a.stack.tick();
    expect(a.stack.nextDeadline()).toBeNull();
    sock.sendTo(new Uint8Array(8), B_IP, 9);
    expect(a.iface.stats.arpRequestsSent).toBe(requests + 1);
    expect(reads).toBeGreaterThan(0);
    // The answer makes it reachable again, with a new deadline.
    pump([a, b]);
    expect(a.stack.nextDeadline()).toBe(clock.t + 100);
    expect(a.iface.arp.reachable(B_IP)).toEqual(b.link.mac);
  });

  test('an unanswered resolution retries, then drops its queue; deadlines say when', () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, {
      ip: '10.0.0.1/24',
      arp: { retryMs: 1000, maxRequests: 3 },
    });
    a.link.take();
    expect(a.stack.nextDeadline()).toBeNull();
    const sock = a.stack.udpSocket();
    sock.sendTo(new Uint8Array(8), C_IP, 9);
    sock.sendTo(new Uint8Array(8), C_IP, 9);
    expect(a.stack.nextDeadline()).toBe(clock.t + 1000);
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      a.stack.tick();
    }
    expect(a.iface.stats.arpRequestsSent).toBe(3);
    expect(a.iface.stats.arpUnresolved).toBe(1);
    expect(a.iface.stats.arpQueueDrops).toBe(2);
    expect(a.iface.arp.queuedPackets).toBe(0);
    expect(a.stack.nextDeadline()).toBeNull();
    // Only ARP requests went out: nothing was sent to a MAC we never learned.
    expect(a.link.take().every((s) => s.frame[12] === 0x08 && s.frame[13] === 0x06)).toBe(true);
  });

  test('the pending queue is bounded per destination and in total, oldest dropped first', () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, {
      ip: '10.0.0.1/24',
      arp: { queuePerDest: 3, queueTotal: 5 },
    });
    const sock = a.stack.udpSocket();
    for (let i = 0; i < 5; i++) sock.sendTo(new Uint8Array([i]), B_IP, 9);
    expect(a.iface.arp.queuedPackets).toBe(3);
    for (let i = 0; i < 4; i++) sock.sendTo(new Uint8Array([10 + i]), C_IP, 9);
    expect(a.iface.arp.queuedPackets).toBe(5);
    expect(a.iface.stats.arpQueueDrops).toBe(4);
    // B answers: its surviving packets are the newest two of the first five.
    const b = makeHost('beta', clock, { ip: '10.0.0.2/24' });
    const rx = b.stack.udpSocket();
    rx.bind(9);
    pump([a, b]);
    expect([rx.tryRecv()!.data[0], rx.tryRecv()!.data[0], rx.tryRecv()]).toEqual([3, 4, null]);
  });

  test('destinations being resolved at once are bounded as well', () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, { ip: '10.0.0.1/16', arp: { queueTotal: 8 } });
    a.link.take();
    const sock = a.stack.udpSocket();
    for (let i = 0; i < 100; i++) expect(sock.sendTo(new Uint8Array(1), 0x0a000100 + i, 9)).toBe(1);
    expect(a.iface.stats.arpRequestsSent).toBe(8);
    expect(a.iface.arp.queuedPackets).toBe(8);
    expect(a.iface.stats.arpQueueDrops).toBe(92);
  });

  test('the table is bounded: the least recently confirmed entry goes first', () => {
    const cache = new ArpCache(new NetStats(), () => {}, { maxEntries: 2 });
    const mac = hex('020000000009');
    cache.confirm(1, mac, 0, 0, true);
    cache.confirm(2, mac, 0, 1, true);
    cache.confirm(1, mac, 0, 2, true);
    cache.confirm(3, mac, 0, 3, true);
    expect([cache.lookup(1, 4), cache.lookup(2, 4), cache.lookup(3, 4)].map(Boolean)).toEqual([
      true,
      false,
      true,
    ]);
  });
});

describe('ARP input rules', () => {
  const setup = () => {
    const clock = new ManualClock();
    const a = makeHost('alpha', clock, { ip: '10.0.0.1/24' });
    a.link.take();
    return { clock, a, A_IP: a.iface.ip.addr };
  };
  const peer = hex('020000000002');

  test('requests for us are answered and teach us the requester', () => {
    const { a, A_IP } = setup();
    a.iface.receive(arpFrame(ArpOp.REQUEST, peer, B_IP, A_IP));
    const [reply] = a.link.take();
    expect(toHex(reply.frame.subarray(0, 6))).toBe('020000000002');
    expect(a.iface.arp.size).toBe(1);
  });

  test('requests for someone else teach nothing and get no answer', () => {
    const { a } = setup();
    a.iface.receive(arpFrame(ArpOp.REQUEST, peer, B_IP, C_IP));
    expect(a.link.take()).toEqual([]);
    expect(a.iface.arp.size).toBe(0);
  });

  test('a gratuitous ARP updates a known neighbour that changed MAC', () => {
    const { clock, a, A_IP } = setup();
    a.iface.receive(arpFrame(ArpOp.REQUEST, peer, B_IP, A_IP));
    const moved = hex('02000000abcd');
    a.iface.receive(arpFrame(ArpOp.REQUEST, moved, B_IP, B_IP));
    expect(a.iface.arp.lookup(B_IP, clock.now())).toEqual(moved);
  });

  test('a probe (sender 0.0.0.0) is answered without learning', () => {
    const { a, A_IP } = setup();
    a.iface.receive(arpFrame(ArpOp.REQUEST, peer, 0, A_IP));
    expect(a.link.take().length).toBe(1);
    expect(a.iface.arp.size).toBe(0);
  });

  test('spoofed senders are ignored: multicast MAC, our own MAC, our own IP', () => {
    const { a, A_IP } = setup();
    a.iface.receive(arpFrame(ArpOp.REQUEST, hex('01005e000001'), B_IP, A_IP));
    a.iface.receive(arpFrame(ArpOp.REQUEST, a.iface.mac, B_IP, A_IP));
    expect(a.iface.stats.arpIgnored).toBe(2);
    a.iface.receive(arpFrame(ArpOp.REQUEST, peer, A_IP, A_IP));
    expect(a.iface.stats.arpConflicts).toBe(1);
    expect(a.link.take()).toEqual([]);
    expect(a.iface.arp.size).toBe(0);
  });

  test('broadcast ARP reaches every host on a hub; only the target answers', () => {
    const clock = new ManualClock();
    const hosts = ['h1', 'h2', 'h3'].map((n, i) =>
      makeHost(n, clock, { ip: `10.0.0.${i + 1}/24` }),
    );
    pump(hosts);
    hosts[0].stack.pingSocket().send(hosts[2].iface.ip.addr, 1);
    pump(hosts);
    expect(hosts.map((h) => h.iface.stats.arpRequestsIn)).toEqual([2, 3, 3]);
    expect(hosts.map((h) => h.iface.stats.arpRepliesSent)).toEqual([0, 0, 1]);
    expect(hosts[1].iface.stats.icmpEchoRequestsIn).toBe(0);
    expect(hosts[2].iface.stats.icmpEchoRequestsIn).toBe(1);
  });
});
