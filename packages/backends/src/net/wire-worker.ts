// Worker entry of a NIC on a dgram or stream wire: one worker per NIC,
// holding its domain's memory, both of its queues, and one socket.
//
// The socket side is an event loop (the wire is the slow part), so the tx
// doorbell is waited on with Atomics.waitAsync (MultiDoorbellWait): a kick
// wakes the loop, the tx ring is drained (each frame copied into a buffer of
// the backend's own, its checksum completed there when the guest asked for
// NEEDS_CSUM: no wire takes partial checksums, and sent), then kicks are
// turned back on and the ring re-checked before waiting again. Frames from
// the wire go straight into the guest's rx buffers (RxWriter); with none
// posted they are dropped and counted. While the NIC's link is down
// (vmm.setLink) frames are dropped both ways and counted, as at the switch.
import { parentPort, workerData } from 'node:worker_threads';
import { completeChecksum, ETH_HLEN, NET_HDR_SIZE } from '@pvkit/virtio-ring';
import { BACKEND_READY, type VirtqueueWorkerData } from '../virtio/worker-data.ts';
import { NET_COUNTER } from './counters.ts';
import { MultiDoorbellWait } from './doorbell-wait.ts';
import type { NicBackendConfig } from './nic-config.ts';
import { BROKEN, NetPort } from './port.ts';
import { NO_CSUM, RxWriter } from './rx-writer.ts';
import { copySegments, Segments } from './segments.ts';
import { countTxError } from './switch-engine.ts';
import { TxFrame } from './tx-frame.ts';
import { openWire, type Wire } from './wire.ts';

export interface WireWorkerData extends VirtqueueWorkerData {
  wire: NicBackendConfig;
  mtu: number;
  /** "eth0", for logs. */
  nic: string;
}

const data = workerData as WireWorkerData;
const IDLE_WAIT_MS = 1000;
/** Frames sent per turn of the event loop (the socket gets its turn in between). */
const TX_BATCH = 256;

const nic = new NetPort(0, data.nic, data);
const writer = new RxWriter();
const txf = new TxFrame(256);
const rxSrc = new Segments(1);
/**
 * V8 copies between guest memory (a SharedArrayBuffer) and anything else
 * word by word only when both ends sit at the same address mod 8, else
 * byte by byte (about 4x slower for a full frame). A frame lands behind a
 * 12-byte header in the guest's 8-aligned rx buffers; a socket's buffer
 * that starts elsewhere is first copied here (a plain memcpy), at that phase.
 */
const RX_PHASE = NET_HDR_SIZE & 7;
const rxAligned = new Uint8Array(new ArrayBuffer(RX_PHASE + ETH_HLEN + data.mtu), RX_PHASE);
const own = new Segments(1);
const waiter = new MultiDoorbellWait(() => setImmediate(serveTx));
let wire: Wire | null = null;

function log(line: string): void {
  parentPort?.postMessage({ t: 'log', line });
}

/** A frame from the wire into the guest. */
function receive(frame: Uint8Array): void {
  nic.sync();
  if (!nic.linkUp) {
    // A pulled cable (vmm.setLink) carries nothing, as at the switch.
    nic.count(NET_COUNTER.rxLinkDown);
    mirror();
    return;
  }
  if (((frame.byteOffset - RX_PHASE) & 7) !== 0 && frame.length <= rxAligned.length) {
    rxAligned.set(frame);
    rxSrc.setWhole(rxAligned, frame.length);
  } else rxSrc.setWhole(frame);
  if (writer.deliver(nic, rxSrc, NO_CSUM)) nic.publishRx();
  mirror();
}

/** Drain the tx ring onto the wire; sleep on the doorbell when it is empty. */
function serveTx(): void {
  if (nic.stopRequested) {
    stop();
    return;
  }
  nic.sync();
  const q = nic.txq;
  if (q !== null) {
    q.disableNotifications();
    for (let n = 0; n < TX_BATCH; n++) {
      const head = nic.popTx(q);
      if (head === BROKEN) break;
      if (head < 0) {
        nic.tx.publish(q);
        sleep();
        return;
      }
      const malformed = q.chain.error !== null;
      if (!malformed) sendFrame();
      q.push(head, 0);
      nic.tx.count(0, malformed);
    }
    if (nic.txq !== null) {
      nic.tx.publish(q);
      setImmediate(serveTx); // more to send: let the socket breathe first
      return;
    }
  }
  sleep();
}

function sendFrame(): void {
  const q = nic.txq;
  if (q === null || wire === null) return;
  if (!txf.read(nic.u8, q.chain, nic.features, nic.csum)) {
    countTxError(nic, txf.error);
    return;
  }
  if (!nic.linkUp) {
    nic.count(NET_COUNTER.txLinkDown);
    return;
  }
  const len = txf.frameLen;
  // The wire's own copy: the guest may rewrite its buffer once the chain is
  // used. It starts at the frame's phase mod 8 in guest memory (word copies).
  const phase = txf.frame.count > 0 ? txf.frame.addr[0] & 7 : 0;
  const buf = new Uint8Array(new ArrayBuffer(phase + len), phase, len);
  own.setWhole(buf);
  copySegments(txf.frame, 0, own, 0, len);
  if (txf.needsCsum) {
    completeChecksum(buf, 0, len, txf.hdr.csumStart, txf.hdr.csumOffset);
    nic.count(NET_COUNTER.csumCompleted);
  }
  nic.count(NET_COUNTER.txFrames);
  nic.count(NET_COUNTER.txBytes, len);
  wire.send(buf);
}

function sleep(): void {
  mirror();
  waiter.snapshot([nic.tx.bell]);
  const changed = nic.rx.controlChanged || nic.tx.controlChanged;
  if (changed || nic.txq?.enableNotifications() || !waiter.arm(IDLE_WAIT_MS)) {
    setImmediate(serveTx);
    return;
  }
  nic.countSleep();
}

function mirror(): void {
  const w = wire?.stats;
  if (!w) return;
  const c = nic.c;
  const b = nic.nb;
  c[b + NET_COUNTER.wireTxFrames] = w.txFrames;
  c[b + NET_COUNTER.wireTxErrors] = w.txErrors;
  c[b + NET_COUNTER.txRunts] = w.txRunts;
  c[b + NET_COUNTER.txOversize] = w.txOversize;
  c[b + NET_COUNTER.wireRxFrames] = w.rxFrames;
  c[b + NET_COUNTER.wireRxRunts] = w.rxRunts;
  c[b + NET_COUNTER.wireRxOversize] = w.rxOversize;
  c[b + NET_COUNTER.wireRxErrors] = w.rxErrors;
  c[b + NET_COUNTER.wireConnects] = w.connects;
  c[b + NET_COUNTER.wireDisconnects] = w.disconnects;
  nic.flushCounters();
}

function stop(): void {
  mirror();
  wire?.close();
  process.exit(0);
}

wire = openWire(data.wire, data.mtu, receive);
// A bind or listen error is left unhandled: it becomes the worker's error
// event, and the domain's creation fails with its message.
void wire.open().then((desc) => {
  log(desc);
  parentPort?.postMessage(BACKEND_READY);
  serveTx();
});
