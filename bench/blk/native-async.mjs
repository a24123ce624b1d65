// The host-native floor in "threadpool" mode: one JS thread keeps `qd`
// callback-style fs.read / fs.write requests in flight; libuv's threadpool
// (UV_THREADPOOL_SIZE = qd, set by the parent: the pool size is fixed at the
// first use of the pool in a process, hence a child process) does the I/O.
// Prints one JSON line: { ops, bytes, seconds }.
import { closeSync, openSync, read, write } from 'node:fs';

const { path, write: isWrite, seq, bs, blocks, qd, durationMs } = JSON.parse(process.argv[2]);
const fd = openSync(path, isWrite ? 'r+' : 'r');
let next = 0;
let x = 2463534242;
let ops = 0;
let bytes = 0;
let inflight = 0;
const t0 = performance.now();
const deadline = t0 + durationMs;

function position() {
  if (seq) return (next++ % blocks) * bs;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  return (x % blocks) * bs;
}

function issue(buf) {
  if (performance.now() >= deadline) {
    if (--inflight === 0) finish();
    return;
  }
  (isWrite ? write : read)(fd, buf, 0, bs, position(), (err, n) => {
    if (err) throw err;
    ops++;
    bytes += n;
    issue(buf);
  });
}

function finish() {
  const seconds = (performance.now() - t0) / 1000;
  closeSync(fd);
  process.stdout.write(`${JSON.stringify({ ops, bytes, seconds })}\n`);
}

for (let i = 0; i < qd; i++) {
  inflight++;
  issue(Buffer.alloc(bs, 0x5a ^ i));
}
