// The switch's data path in one thread: real guest memories (one
// SharedArrayBuffer per "domain"), real control blocks published as the
// register model does, drivers written with DriverQueue (and RawDriver for
// chains no driver should write). Each pass moves frames from tx rings into
// rx buffers; the bytes, headers, lengths and counters are checked.
import {
  csumAdd32,
  csumFinish,
  csumPartial,
  DEVICE_STATE,
  DeviceControl,
  DeviceCounters,
  Doorbell,
  DriverQueue,
  GuestMemory,
  internetChecksum,
  layoutSplitQueue,
  NET_HDR_SIZE,
  NetHdrFlag,
  netFeatures,
  QUEUE_COUNTER,
  RING_FEATURES,
  readNetHdr,
  VIRTQ_DESC_F_NEXT,
  writeNetHdr,
} from '@pvkit/virtio-ring';
import { describe, expect, test } from 'vitest';
import {
  NET_COUNTER_NAMES,
  NetPort,
  netDeviceDescription,
  SwitchEngine,
} from '../src/net/index.ts';

const QSIZE = 32;
const ALL = RING_FEATURES | netFeatures('MAC', 'STATUS', 'MTU', 'MRG_RXBUF', 'CSUM', 'GUEST_CSUM');

interface Guest {
  port: NetPort;
  mem: GuestMemory;
  rx: DriverQueue<number>;
  tx: DriverQueue<number>;
  mac: Uint8Array;
  rxBuf: number;
  rxSize: number;
}

let nextId = 1;
/** A guest with a NIC plugged into `engine`, its driver having acked `features`. */
function guest(engine: SwitchEngine, features: bigint, rxSize = 2048, rxCount = 8): Guest {
  const id = nextId++;
  const mac = Uint8Array.from([0x02, 0, 0, 0, 0, id]);
  const memory = new SharedArrayBuffer(1 << 20);
  const mem = new GuestMemory(memory);
  const rxq = layoutSplitQueue(0x1000, QSIZE, 128);
  const txq = layoutSplitQueue(0x4000, QSIZE, 128);
  const control = DeviceControl.create(2);
  control.describe(netDeviceDescription(mac, null));
  const eventIdx = true;
  const rx = new DriverQueue<number>(mem, rxq, { eventIdx });
  const tx = new DriverQueue<number>(mem, txq, { eventIdx });
  control.publish(DEVICE_STATE.running, features, [
    { index: 0, ready: true, ...rxq },
    { index: 1, ready: true, ...txq },
  ]);
  const counters = DeviceCounters.create(2, NET_COUNTER_NAMES.length);
  const port = new NetPort(id, `g${id}`, {
    memory,
    control: control.buffer,
    counters: counters.buffer,
    doorbells: Doorbell.createWords(2).buffer as SharedArrayBuffer,
    doorbell: 0,
    evtchn: 1,
  });
  engine.add(port);
  const rxBuf = 0x10000;
  for (let i = 0; i < rxCount; i++) rx.addBuffer(rxBuf + i * rxSize, rxSize, true, i);
  rx.publish();
  return { port, mem, rx, tx, mac, rxBuf, rxSize };
}

/** An IPv4/UDP frame from `src` to `dst` with `n` payload bytes; NEEDS_CSUM leaves the pseudo sum. */
function udpFrame(src: Guest, dst: Uint8Array, n: number, offload: boolean): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + n);
  const v = new DataView(f.buffer);
  f.set(dst, 0);
  f.set(src.mac, 6);
  v.setUint16(12, 0x0800);
  f[14] = 0x45;
  v.setUint16(16, 20 + 8 + n);
  f[22] = 64;
  f[23] = 17;
  v.setUint32(26, 0x0a000001);
  v.setUint32(30, 0x0a000002);
  v.setUint16(24, internetChecksum(f, 14, 34));
  v.setUint16(34, 1234);
  v.setUint16(36, 7);
  v.setUint16(38, 8 + n);
  for (let i = 0; i < n; i++) f[42 + i] = (i * 13 + 5) & 0xff;
  let pseudo = csumAdd32(csumAdd32(0, 0x0a000001), 0x0a000002);
  pseudo += 17 + 8 + n;
  if (offload) v.setUint16(40, csumFinish(pseudo) ^ 0xffff);
  else v.setUint16(40, csumFinish(csumPartial(f, 34, f.length, pseudo)));
  return f;
}

/** Put `frame` on `g`'s tx ring at `slot` (header + frame in one buffer, or split at `split`). */
function send(g: Guest, frame: Uint8Array, slot: number, csum = false, split = 0) {
  const at = 0x80000 + slot * 2048;
  writeNetHdr(g.mem.u8, at, {
    flags: csum ? NetHdrFlag.NEEDS_CSUM : 0,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 34,
    csumOffset: 6,
    numBuffers: 0,
  });
  g.mem.u8.set(frame, at + NET_HDR_SIZE);
  const len = NET_HDR_SIZE + frame.length;
  if (split > 0)
    g.tx.add(
      [
        { addr: at, len: split },
        { addr: at + split, len: len - split },
      ],
      [],
      slot,
    );
  else g.tx.addBuffer(at, len, false, slot);
  g.tx.publish();
}

/** Every frame `g` received since the last call: header fields and frame bytes, merged buffers joined. */
function received(g: Guest): { flags: number; numBuffers: number; frame: Uint8Array }[] {
  const out: { flags: number; numBuffers: number; frame: Uint8Array }[] = [];
  for (let t = g.rx.reclaim(); t !== undefined; t = g.rx.reclaim()) {
    const at = g.rxBuf + t * g.rxSize;
    const len = g.rx.reclaimedLen;
    const h = readNetHdr(g.mem.u8, at);
    const parts = [g.mem.u8.slice(at + NET_HDR_SIZE, at + len)];
    for (let k = 1; k < h.numBuffers; k++) {
      const t2 = g.rx.reclaim() as number;
      const a2 = g.rxBuf + t2 * g.rxSize;
      parts.push(g.mem.u8.slice(a2, a2 + g.rx.reclaimedLen));
    }
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      frame.set(p, o);
      o += p.length;
    }
    out.push({ flags: h.flags, numBuffers: h.numBuffers, frame });
  }
  return out;
}

const udpOk = (f: Uint8Array) => {
  const n = f.length - 34;
  let pseudo = csumAdd32(csumAdd32(0, 0x0a000001), 0x0a000002);
  pseudo += 17 + n;
  return csumFinish(csumPartial(f, 34, f.length, pseudo)) === 0;
};
const BCAST = new Uint8Array(6).fill(0xff);

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
