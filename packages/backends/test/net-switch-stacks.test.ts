// Three guest network stacks joined by the learning switch: the pure parts of
// issue 5's switch backend and guest stack, wired in memory (the virtqueues
// and workers come later; each delivery here is the copy the switch worker
// will make from a tx buffer into an rx buffer).

import { describe, expect, test } from 'vitest';
import { parseIpv4, type UdpFrom } from '../../guest-kernel/src/net/index.ts';
import {
  deliver,
  type Host,
  ManualClock,
  makeHost,
} from '../../guest-kernel/test/support/net-harness.ts';
import { DROP, FLOOD, LearningSwitch } from '../src/net/index.ts';

function lan(n: number, opts: { offload?: boolean; guestCsum?: boolean } = {}) {
  const clock = new ManualClock();
  const sw = new LearningSwitch();
  const hosts = Array.from({ length: n }, (_, i) => {
    sw.addPort(i);
    return makeHost(`guest-${i}`, clock, { ip: `192.168.7.${i + 1}/24`, ...opts });
  });
  /** Move frames through the switch until every host is quiet. */
  const run = () => {
    for (let moved = true; moved; ) {
      moved = false;
      hosts.forEach((h, port) => {
        for (const sent of h.link.take()) {
          moved = true;
          const f = sent.frame;
          const out = sw.forward(port, f, 0, f.length, clock.now());
          if (out === DROP) continue;
          const targets = out === FLOOD ? sw.ports.filter((p) => p !== port) : [out];
          for (const t of targets) {
            deliver(sent, hosts[t]);
            sw.delivered(t, f.length, true);
          }
        }
      });
    }
  };
  run(); // gratuitous ARPs on link up
  return { clock, sw, hosts, run };
}

const addrOf = (h: Host) => h.iface.ip.addr;

describe('three stacks on a learning switch', () => {
  test('a broadcast ARP reaches all; the reply and the ping are unicast', () => {
    const { sw, hosts, run } = lan(3);
    const before = hosts.map((h) => h.iface.stats.arpRequestsIn);
    const ping = hosts[0].stack.pingSocket();
    ping.send(addrOf(hosts[2]), 1);
    run();
    const after = hosts.map((h) => h.iface.stats.arpRequestsIn);
    expect(after.map((a, i) => a - before[i])).toEqual([0, 1, 1]);
    expect(ping.tryRecv()).toMatchObject({ seq: 1, from: addrOf(hosts[2]), payloadOk: true });
    // Guest 1 saw the broadcast ARP only: the echo and its reply were not flooded to it.
    expect(hosts[1].iface.stats.rxNotForUs).toBe(0);
    expect(sw.stats(0).txFrames).toBe(4); // 2 gratuitous ARPs, ARP reply, echo reply
    expect(sw.table.size).toBe(3);
  });

  for (const mode of [
    { name: 'checksums in software', offload: false, guestCsum: false },
    { name: 'offloaded, completed for the receiver', offload: true, guestCsum: false },
    { name: 'offloaded, delivered DATA_VALID', offload: true, guestCsum: true },
  ]) {
    test(`UDP echo across the switch, ${mode.name}`, () => {
      const { hosts, run } = lan(3, mode);
      const [client, , server] = hosts;
      const srv = server.stack.udpSocket();
      srv.bind(7);
      const cli = client.stack.udpSocket();
      const buf = new Uint8Array(1500);
      const from: UdpFrom = { addr: 0, port: 0 };
      for (let i = 0; i < 50; i++) {
        const msg = Uint8Array.from({ length: 1 + ((i * 131) % 1472) }, (_, j) => (i ^ j) & 0xff);
        expect(cli.sendTo(msg, addrOf(server), 7)).toBe(msg.length);
        run();
        const n = srv.recvFrom(buf, from);
        expect(n).toBe(msg.length);
        srv.sendTo(buf.subarray(0, n as number), from.addr, from.port);
        run();
        expect(cli.tryRecv()!.data).toEqual(msg);
      }
      for (const h of hosts) expect(h.iface.stats.udpBadChecksum).toBe(0);
      expect(hosts[1].iface.stats.udpIn).toBe(0);
    });
  }

  test('a corrupted frame crossing the switch is caught by the receiver’s checksum', () => {
    const { sw, hosts, clock } = lan(2);
    const srv = hosts[1].stack.udpSocket();
    srv.bind(7);
    hosts[0].stack.udpSocket().sendTo(new Uint8Array(64).fill(1), parseIpv4('192.168.7.2')!, 7);
    // Resolve ARP by hand, then corrupt the data frame in flight.
    for (let round = 0; round < 4; round++) {
      hosts.forEach((h, port) => {
        for (const sent of h.link.take()) {
          const isUdp = sent.frame[23] === 17;
          if (isUdp) sent.frame[60] ^= 0x10;
          const out = sw.forward(port, sent.frame, 0, sent.frame.length, clock.now());
          for (const t of out === FLOOD ? sw.ports.filter((p) => p !== port) : [out]) {
            if (t >= 0) deliver(sent, hosts[t]);
          }
        }
      });
    }
    expect(hosts[1].iface.stats.udpBadChecksum).toBe(1);
    expect(srv.queued).toBe(0);
  });
});
