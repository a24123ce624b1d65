// Worker entry of one named switch ("lan0"): ONE worker per switch, shared
// by the NICs of every domain plugged into it. It holds the memory of each
// attached domain (and of no other), and runs SwitchEngine:
//
//   while frames flow   poll every NIC's tx ring, pass after pass, with
//                       guest kicks turned off (the switch is looking anyway);
//   after a spell idle  turn kicks back on, re-check every ring, and arm an
//                       Atomics.waitAsync on every NIC's tx doorbell, then
//                       return to the event loop (MultiDoorbellWait): the
//                       first kick, a control-block change (the register model
//                       rings every doorbell), a control message or the 1 s
//                       timeout starts the polling again;
//   every 2 ms of work  yield to the event loop once, so plug/unplug messages
//                       get in (they never wait behind a busy switch for long);
//   a frame held        (a receiver with no rx buffer, SwitchEngine) the sleep
//                       also listens to that receiver's rx kicks, and ends when
//                       the hold would.
//
// The idle spell adapts, like KVM's halt polling: it starts at spinUs; a
// wake-up that comes sooner than the longest spell (request/response
// traffic: the answer is on its way) doubles it, up to MAX_SPIN_MS, and a
// long sleep (the guests went quiet) halves it again.
//
// Plug and unplug come as messages (the toolstack's ToSwitch): a NIC that is
// unplugged is forgotten before the answer, so its domain's memory is let go.
import { parentPort, workerData } from 'node:worker_threads';
import { BACKEND_READY } from '../virtio/worker-data.ts';
import { MultiDoorbellWait } from './doorbell-wait.ts';
import { NetPort } from './port.ts';
import { SwitchEngine } from './switch-engine.ts';
import type { FromSwitch, SwitchWorkerData, ToSwitch } from './switch-protocol.ts';

const data = workerData as SwitchWorkerData;
const SLICE_MS = 2;
const IDLE_WAIT_MS = 1000;
const MIN_SPIN_MS = (data.spinUs ?? 50) / 1000;
const MAX_SPIN_MS = 0.5;
/** A sleep longer than this means the guests went quiet: spin less. */
const QUIET_MS = 10;
let spinMs = MIN_SPIN_MS;
let sleptAt = 0;
const engine = new SwitchEngine(data.ageingMs !== undefined ? { ageingMs: data.ageingMs } : {});
const port = parentPort;
if (port === null) throw new Error('the switch runs in a worker thread');

let scheduled = false;
let stopping = false;
const waiter = new MultiDoorbellWait(() => {
  for (const p of engine.ports) {
    p.txq?.disableNotifications();
    p.rxq?.disableNotifications();
  }
  const slept = performance.now() - sleptAt;
  if (slept < MAX_SPIN_MS) spinMs = Math.min(MAX_SPIN_MS, spinMs * 2);
  else if (slept > QUIET_MS) spinMs = Math.max(MIN_SPIN_MS, spinMs / 2);
  schedule();
});

function post(m: FromSwitch): void {
  port?.postMessage(m);
}

function schedule(): void {
  if (scheduled || stopping) return;
  scheduled = true;
  setImmediate(pump);
}

/** Poll until idle for spinMs (then sleep) or for SLICE_MS (then yield). */
function pump(): void {
  scheduled = false;
  if (stopping || waiter.sleeping) return;
  const start = performance.now();
  let lastWork = start;
  for (;;) {
    const now = performance.now();
    if (engine.pass(now) > 0) lastWork = now;
    else if (now - lastWork > spinMs) {
      if (trySleep()) return;
      lastWork = performance.now();
    }
    if (now - start > SLICE_MS) {
      schedule();
      return;
    }
  }
}

const waitedFor: NetPort[] = [];

/**
 * Kicks on, rings re-checked, doorbells armed: true if the switch now
 * sleeps. A receiver a held frame waits for is listened to as well (its rx
 * kicks on, as vhost-net does when a guest runs out of rx buffers), and the
 * sleep ends when that wait would.
 */
function trySleep(): boolean {
  engine.mirrorAll();
  const ports = engine.ports;
  const until = engine.waitedFor(waitedFor);
  waiter.snapshot([...ports.map((p) => p.tx.bell), ...waitedFor.map((p) => p.rx.bell)]);
  let work = false;
  for (const p of ports) {
    if (p.rx.controlChanged || p.tx.controlChanged) work = true;
    else if (p.txq?.enableNotifications()) work = true;
  }
  for (const p of waitedFor) if (p.rxq?.enableNotifications()) work = true;
  const ms = Math.min(IDLE_WAIT_MS, Math.max(0.05, until - performance.now()));
  if (!work && waiter.arm(ms)) {
    sleptAt = performance.now();
    for (const p of ports) p.countSleep();
    return true;
  }
  for (const p of ports) {
    p.txq?.disableNotifications();
    p.rxq?.disableNotifications();
  }
  return false;
}

function handle(m: ToSwitch): void {
  if (m.t === 'add') {
    try {
      engine.add(new NetPort(m.id, m.name, m.data));
      post({ t: 'added', id: m.id });
    } catch (e) {
      post({ t: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) });
    }
  } else if (m.t === 'remove') {
    engine.remove(m.id);
    post({ t: 'removed', id: m.id });
  } else if (m.t === 'stop') {
    stopping = true;
    clearInterval(sweeper);
    engine.mirrorAll();
    process.exit(0);
  }
  waiter.wakeNow();
  schedule();
}

const sweeper = setInterval(() => engine.sweep(performance.now()), data.sweepMs ?? 5000);
port.on('message', handle);
port.postMessage(BACKEND_READY);
schedule();
