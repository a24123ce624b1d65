// The switch's data path in one thread: real guest memories (one
// SharedArrayBuffer per "domain"), real control blocks published as the
// register model does, drivers written with DriverQueue (and RawDriver for
// chains no driver should write). Each pass moves frames from tx rings into
// rx buffers; the bytes, headers, lengths and counters are checked.
import {
  layoutSplitQueue,
  NET_HDR_SIZE,
  NetHdrFlag,
  netFeatures,
  QUEUE_COUNTER,
  VIRTQ_DESC_F_NEXT,
} from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import { SwitchEngine } from '../src/net/index.ts';
import {
  ALL,
  BCAST,
  guest,
  QSIZE,
  received,
  send,
  udpFrame,
  udpOk,
} from './support/switch-guests.ts';

describe('forwarding', () => {
  test('unknown destinations flood, learned ones go to one port; bytes arrive unchanged', () => {
    const e = new SwitchEngine();
    const [a, b, c] = [guest(e, ALL), guest(e, ALL), guest(e, ALL)];
    const f1 = udpFrame(a, b.mac, 100, false);
    send(a, f1, 0);
    expect(e.pass(0)).toBe(1);
    // b is unknown yet: everyone but a gets it.
    expect(received(b).map((r) => [...r.frame])).toEqual([[...f1]]);
    expect(received(c)).toHaveLength(1);
    expect(received(a)).toHaveLength(0);
    // b answers: a was learned from its first frame, so only a gets this.
    send(b, udpFrame(b, a.mac, 50, false), 0);
    e.pass(1);
    expect(received(a)).toHaveLength(1);
    expect(received(c)).toHaveLength(0);
    // Now b is learned too: unicast.
    send(a, udpFrame(a, b.mac, 10, false), 1);
    e.pass(2);
    expect(received(b)).toHaveLength(1);
    expect(received(c)).toHaveLength(0);
    expect(a.tx.reclaim()).toBe(0); // tx chains come back
    expect(a.tx.reclaimedLen).toBe(0);
    e.mirrorAll();
    expect([a.port.counter('txFrames'), a.port.counter('txFlooded')]).toEqual([2, 1]);
  });

  test('a header and frame split across descriptors are read whole', () => {
    const e = new SwitchEngine();
    const [a, b] = [guest(e, ALL), guest(e, ALL)];
    const f = udpFrame(a, BCAST, 200, false);
    send(a, f, 0, false, 5); // the virtio header itself is cut after 5 bytes
    send(a, f, 1, false, NET_HDR_SIZE + 8); // the MACs are cut
    e.pass(0);
    const got = received(b);
    expect(got.map((r) => [...r.frame])).toEqual([[...f], [...f]]);
  });
});

describe('rx buffers', () => {
  test('MRG_RXBUF: a frame spans as many small buffers as it needs; num_buffers says how many', () => {
    const e = new SwitchEngine();
    const a = guest(e, ALL);
    const b = guest(e, ALL, 256, 16);
    const f = udpFrame(a, BCAST, 1000, false);
    send(a, f, 0);
    e.pass(0);
    const [r] = received(b);
    expect(r.numBuffers).toBe(Math.ceil((f.length + NET_HDR_SIZE) / 256));
    expect([...r.frame]).toEqual([...f]);
    expect(b.port.counter('rxMerged')).toBe(1);
  });

  test('without MRG_RXBUF a too-small buffer is given back empty and the frame counted', () => {
    const e = new SwitchEngine();
    const a = guest(e, ALL);
    const b = guest(e, ALL & ~netFeatures('MRG_RXBUF'), 256, 4);
    send(a, udpFrame(a, BCAST, 1000, false), 0);
    e.pass(0);
    expect(b.rx.reclaim()).toBe(0);
    expect(b.rx.reclaimedLen).toBe(0);
    expect(b.port.counter('rxBufferErrors')).toBe(1);
    // A frame that fits still goes through.
    send(a, udpFrame(a, BCAST, 100, false), 1);
    e.pass(1);
    expect(received(b)).toHaveLength(1);
  });

  test('no rx buffer: dropped and counted, the sender is not held up', () => {
    const e = new SwitchEngine();
    const a = guest(e, ALL);
    const b = guest(e, ALL, 2048, 1);
    for (let i = 0; i < 3; i++) send(a, udpFrame(a, BCAST, 64, false), i);
    expect(e.pass(0)).toBe(3);
    expect(received(b)).toHaveLength(1);
    expect(b.port.counter('rxDropped')).toBe(2);
    for (let i = 0; i < 3; i++) expect(a.tx.reclaim()).toBe(i);
  });
});

describe('checksum offload', () => {
  test('NEEDS_CSUM: DATA_VALID for a GUEST_CSUM receiver, completed for the others', () => {
    const e = new SwitchEngine();
    const a = guest(e, ALL);
    const lazy = guest(e, ALL);
    const strict = guest(e, ALL & ~netFeatures('GUEST_CSUM'));
    const split = guest(e, ALL & ~netFeatures('GUEST_CSUM'), 128, 32);
    const f = udpFrame(a, BCAST, 700, true);
    expect(udpOk(f)).toBe(false);
    send(a, f, 0, true);
    e.pass(0);
    const [l] = received(lazy);
    expect(l.flags).toBe(NetHdrFlag.DATA_VALID);
    expect([...l.frame]).toEqual([...f]); // crossed untouched
    const [s] = received(strict);
    expect(s.flags).toBe(0);
    expect(udpOk(s.frame)).toBe(true);
    const [m] = received(split);
    expect(m.numBuffers).toBeGreaterThan(5);
    expect(udpOk(m.frame)).toBe(true);
    expect(strict.port.counter('csumCompleted')).toBe(1);
    expect(lazy.port.counter('csumDataValid')).toBe(1);
    // The sender's buffer was never written.
    expect([
      ...a.mem.u8.subarray(0x80000 + NET_HDR_SIZE, 0x80000 + NET_HDR_SIZE + f.length),
    ]).toEqual([...f]);
  });

  test('NEEDS_CSUM from a driver that did not ack CSUM is refused', () => {
    const e = new SwitchEngine();
    const a = guest(e, ALL & ~netFeatures('CSUM'));
    const b = guest(e, ALL);
    send(a, udpFrame(a, BCAST, 64, true), 0, true);
    e.pass(0);
    expect(received(b)).toHaveLength(0);
    expect(a.port.counter('txBadHeader')).toBe(1);
    expect(a.port.lastTxError).toBe('needs-csum-not-negotiated');
  });
});

test('a tx chain with a descriptor loop is answered and the next frame still flows', () => {
  const e = new SwitchEngine();
  const [a, b] = [guest(e, ALL), guest(e, ALL)];
  // Hand-written descriptors 20 -> 21 -> 20 on a's tx ring, offered behind the driver's back.
  const desc = 0x4000;
  const dv = a.mem.view;
  for (const [i, next] of [
    [20, 21],
    [21, 20],
  ]) {
    dv.setBigUint64(desc + i * 16, 0x90000n, true);
    dv.setUint32(desc + i * 16 + 8, 64, true);
    dv.setUint16(desc + i * 16 + 12, VIRTQ_DESC_F_NEXT, true);
    dv.setUint16(desc + i * 16 + 14, next, true);
  }
  const ring = layoutSplitQueue(0x4000, QSIZE, 128);
  dv.setUint16(ring.avail + 4, 20, true);
  Atomics.store(a.mem.u16, (ring.avail + 2) / 2, 1);
  e.pass(0);
  expect(a.port.tx.counters.queueTotal(QUEUE_COUNTER.malformed, 1)).toBe(1);
  expect(received(b)).toHaveLength(0);
});

test('a receiver that breaks its rx ring loses its frames; the others still get theirs', () => {
  const e = new SwitchEngine();
  const [a, b, c] = [guest(e, ALL), guest(e, ALL), guest(e, ALL)];
  // b's avail.idx runs more than N ahead of what the switch has seen.
  const ring = layoutSplitQueue(0x1000, QSIZE, 128);
  Atomics.store(b.mem.u16, (ring.avail + 2) / 2, QSIZE * 3);
  send(a, udpFrame(a, BCAST, 64, false), 0);
  expect(e.pass(0)).toBe(1);
  expect(b.port.rx.counters.queueTotal(QUEUE_COUNTER.broken, 0)).toBe(1);
  expect(b.port.rxq).toBeNull();
  expect(received(c)).toHaveLength(1);
  // Later frames for b are dropped and counted, not attempted.
  send(a, udpFrame(a, BCAST, 64, false), 1);
  e.pass(1);
  expect(received(c)).toHaveLength(1);
  expect(b.port.counter('rxDropped')).toBe(2);
});
