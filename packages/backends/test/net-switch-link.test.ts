// Link status at the switch: the toolstack rewrites a NIC's config status
// (DeviceControl.setConfig, as Vmm.setLink does); from the next pass on,
// frames for a port whose link is down are dropped and counted (rxLinkDown),
// frames it sends are dropped too (txLinkDown), and nothing waits for it.
import { decodeNetConfig, encodeNetConfig, VirtioNetStatus } from '@pvkit/virtio-ring';
import { expect, test } from 'vitest';
import { SwitchEngine } from '../src/net/index.ts';
import {
  ALL,
  BCAST,
  type Guest,
  guest,
  received,
  send,
  udpFrame,
} from './support/switch-guests.ts';

function setLink(g: Guest, up: boolean): void {
  const cfg = decodeNetConfig(g.control.config());
  cfg.status = up ? cfg.status | VirtioNetStatus.LINK_UP : cfg.status & ~VirtioNetStatus.LINK_UP;
  const bytes = g.control.config();
  encodeNetConfig(cfg, bytes);
  g.control.setConfig(bytes);
}

test('a port whose link is down neither receives nor sends; it works again once up', () => {
  const e = new SwitchEngine();
  const [a, b, c] = [guest(e, ALL), guest(e, ALL), guest(e, ALL, 2048, 0)];
  send(b, udpFrame(b, a.mac, 10, false), 0); // the switch learns b
  send(c, udpFrame(c, a.mac, 10, false), 0); // and c (which has no rx buffer)
  e.pass(0);
  received(a);
  received(b); // c's frame was flooded to b
  setLink(b, false);
  setLink(c, false);
  send(a, udpFrame(a, b.mac, 64, false), 0); // unicast
  send(a, udpFrame(a, BCAST, 64, false), 1); // flooded
  send(a, udpFrame(a, c.mac, 64, false), 2); // no buffer, but down: not held
  send(b, udpFrame(b, a.mac, 64, false), 1); // from a pulled cable
  expect(e.pass(1)).toBe(4);
  expect(e.held).toBe(0);
  expect(received(b)).toHaveLength(0);
  expect(received(a)).toHaveLength(0);
  expect(b.port.counter('rxLinkDown')).toBe(2);
  expect(c.port.counter('rxLinkDown')).toBe(2);
  expect(b.port.counter('txLinkDown')).toBe(1);
  expect(b.port.counter('rxDropped')).toBe(0);
  setLink(b, true);
  send(a, udpFrame(a, b.mac, 64, false), 3);
  send(b, udpFrame(b, a.mac, 64, false), 2);
  e.pass(2);
  expect(received(b)).toHaveLength(1);
  expect(received(a)).toHaveLength(1);
  expect(b.port.counter('rxLinkDown')).toBe(2);
});

test('setConfig refuses a config space of another size', () => {
  const e = new SwitchEngine();
  const a = guest(e, ALL);
  expect(() => a.control.setConfig(new Uint8Array(3))).toThrow(/3 bytes/);
});
