// One thread of the host-native floor of `pnpm bench net`: Node's dgram over
// 127.0.0.1, the host kernel's loopback doing what the switch does for
// guests. Plain JavaScript (no tsx: a worker starts in ~50 ms).
//
//   sink     counts datagrams reaching the app, first to last arrival
//            (those of the first `warmup` seconds are not counted)
//   source   sends size-byte datagrams as fast as the socket takes them
//   echo     sends every datagram back
//   client   one request in flight: send, wait for the echo, again
//            (latencies of the first `warmup` seconds are not kept)
//
// The parent starts the receiving side first, gets its port, then the other.
import { createSocket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';

const { role, size, seconds, peerPort, warmup = 0 } = workerData;
const warmupMs = warmup * 1000;
const sock = createSocket('udp4');
sock.on('error', (e) => parentPort.postMessage({ t: 'error', message: e.message }));

function bound() {
  return new Promise((r) => sock.bind(0, '127.0.0.1', () => r(sock.address().port)));
}
const now = () => performance.now();

if (role === 'sink') {
  let n = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let start = -1;
  sock.on('message', (m) => {
    const t = now();
    if (start < 0) start = t;
    if (t - start < warmupMs) return;
    if (n === 0) first = t;
    last = t;
    n++;
    bytes += m.length;
  });
  parentPort.on('message', (m) => {
    if (m === 'report') {
      parentPort.postMessage({ t: 'report', n, bytes, seconds: (last - first) / 1000 });
      sock.close();
    }
  });
  parentPort.postMessage({ t: 'port', port: await bound() });
} else if (role === 'echo') {
  sock.on('message', (m, r) => sock.send(m, r.port, r.address));
  parentPort.on('message', (m) => {
    if (m === 'stop') sock.close();
  });
  parentPort.postMessage({ t: 'port', port: await bound() });
} else if (role === 'source') {
  await bound();
  sock.connect(peerPort, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const buf = Buffer.alloc(size, 0x5a);
  let sent = 0;
  let inflight = 0;
  const done = () => inflight--;
  const end = now() + warmupMs + seconds * 1000;
  while (now() < end) {
    // Keep the socket's queue short: at most 256 sends waiting for libuv.
    for (let i = 0; i < 64 && inflight < 256; i++) {
      inflight++;
      sock.send(buf, done);
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  parentPort.postMessage({ t: 'report', sent });
  sock.close();
} else if (role === 'client') {
  await bound();
  sock.connect(peerPort, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const buf = Buffer.alloc(size, 0x5a);
  const lat = [];
  const measureFrom = now() + warmupMs;
  const end = measureFrom + seconds * 1000;
  let t0 = 0;
  const next = () => {
    if (now() >= end) {
      parentPort.postMessage({ t: 'report', lat });
      sock.close();
      return;
    }
    t0 = now();
    sock.send(buf);
  };
  sock.on('message', () => {
    if (t0 >= measureFrom) lat.push(now() - t0);
    next();
  });
  next();
}
