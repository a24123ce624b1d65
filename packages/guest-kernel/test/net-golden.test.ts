// Golden frames: what a Linux guest under QEMU (e1000, `-netdev dgram`) puts
// on the wire, and the exact bytes we must answer with. The expected bytes
// were computed outside this code base (Python struct + RFC 1071).

import { describe, expect, test } from 'vitest';
import { NetStack } from '../src/net/index.ts';
import { hex, ManualClock, MemLink, toHex } from './support/net-harness.ts';

// QEMU guest: 52:54:00:12:34:56, 10.0.0.1. pvkit guest: 02:00:00:00:00:02, 10.0.0.2.
const ARP_REQUEST_60 = hex(`
  ffffffffffff 525400123456 0806
  0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002
  000000000000000000000000000000000000`);

const ARP_REPLY = hex(`
  525400123456 020000000002 0806
  0001 0800 06 04 0002 020000000002 0a000002 525400123456 0a000001`);

// Linux ping: id 0x0123, seq 1, 56 data bytes (8-byte timestamp, then 0x10..0x3f).
const ECHO_REQUEST = hex(`
  020000000002 525400123456 0800
  4500 0054 1c46 4000 40 01 0a61 0a000001 0a000002
  08 00 5d76 0123 0001 5f3c8e6500000000
  101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f`);

// Our reply: first IPv4 packet of the interface (id 0), DF, TTL 64.
const ECHO_REPLY = hex(`
  525400123456 020000000002 0800
  4500 0054 0000 4000 40 01 26a7 0a000002 0a000001
  00 00 6576 0123 0001 5f3c8e6500000000
  101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f`);

describe('golden frames from a QEMU guest', () => {
  const setup = () => {
    const link = new MemLink(hex('020000000002'));
    const stack = new NetStack({ clock: new ManualClock() });
    const iface = stack.addInterface(link, { ip: '10.0.0.2/24' });
    iface.setLinkUp(true);
    link.take(); // the gratuitous ARP
    return { link, iface };
  };

  test('a padded 60-byte ARP request gets an exact 42-byte ARP reply', () => {
    const { link, iface } = setup();
    expect(ARP_REQUEST_60.length).toBe(60);
    iface.receive(ARP_REQUEST_60);
    const out = link.take();
    expect(out.length).toBe(1);
    expect(toHex(out[0].frame)).toBe(toHex(ARP_REPLY));
    expect(iface.stats.arpRepliesSent).toBe(1);
  });

  test('an ICMP echo request gets an exact echo reply', () => {
    const { link, iface } = setup();
    iface.receive(ARP_REQUEST_60);
    link.take();
    iface.receive(ECHO_REQUEST);
    const out = link.take();
    expect(out.length).toBe(1);
    expect(out[0].needsCsum).toBeUndefined();
    expect(toHex(out[0].frame)).toBe(toHex(ECHO_REPLY));
  });

  test('with an unknown sender the reply waits for ARP, then goes out unchanged', () => {
    const { link, iface } = setup();
    iface.receive(ECHO_REQUEST);
    const [request] = link.take();
    expect(toHex(request.frame.subarray(0, 14))).toBe('ffffffffffff0200000000020806');
    expect(iface.arp.queuedPackets).toBe(1);
    const reply = hex(`
      020000000002 525400123456 0806
      0001 0800 06 04 0002 525400123456 0a000001 020000000002 0a000002`);
    iface.receive(reply);
    expect(toHex(link.take()[0].frame)).toBe(toHex(ECHO_REPLY));
  });
});
