// Guests for the switch's data path in one thread (see net-switch-engine.test.ts):
// real guest memories, control blocks published as the register model does,
// drivers written with DriverQueue.
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
  RING_FEATURES,
  readNetHdr,
  writeNetHdr,
} from '@pvkit/virtio-ring';
import {
  NET_COUNTER_NAMES,
  NetPort,
  netDeviceDescription,
  type SwitchEngine,
} from '../../src/net/index.ts';

export const QSIZE = 32;
export const ALL =
  RING_FEATURES | netFeatures('MAC', 'STATUS', 'MTU', 'MRG_RXBUF', 'CSUM', 'GUEST_CSUM');

export interface Guest {
  port: NetPort;
  mem: GuestMemory;
  rx: DriverQueue<number>;
  tx: DriverQueue<number>;
  mac: Uint8Array;
  rxBuf: number;
  rxSize: number;
  control: DeviceControl;
}

let nextId = 1;
/** A guest with a NIC plugged into `engine`, its driver having acked `features`. */
export function guest(engine: SwitchEngine, features: bigint, rxSize = 2048, rxCount = 8): Guest {
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
  return { port, mem, rx, tx, mac, rxBuf, rxSize, control };
}

/** An IPv4/UDP frame from `src` to `dst` with `n` payload bytes; NEEDS_CSUM leaves the pseudo sum. */
export function udpFrame(src: Guest, dst: Uint8Array, n: number, offload: boolean): Uint8Array {
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
export function send(g: Guest, frame: Uint8Array, slot: number, csum = false, split = 0) {
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
export function received(g: Guest): { flags: number; numBuffers: number; frame: Uint8Array }[] {
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

export const udpOk = (f: Uint8Array) => {
  const n = f.length - 34;
  let pseudo = csumAdd32(csumAdd32(0, 0x0a000001), 0x0a000002);
  pseudo += 17 + n;
  return csumFinish(csumPartial(f, 34, f.length, pseudo)) === 0;
};
export const BCAST = new Uint8Array(6).fill(0xff);
