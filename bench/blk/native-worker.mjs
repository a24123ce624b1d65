// One thread of the host-native floor ("threads" mode): synchronous
// fs.readSync / fs.writeSync into its own Buffer, one request in flight, as
// many threads as the case's queue depth. Plain JavaScript on purpose: a
// worker that loads TypeScript through tsx costs ~240 ms to start, and a
// qd32 case starts 32 of them per run.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, write, seq, bs, blocks, seed, ctl } = workerData;
// ctl: [0] phase (0 wait, 1 run, 2 stop), [1] threads ready, [2] next sequential block.
const state = new Int32Array(ctl);
const fd = openSync(path, write ? 'r+' : 'r');
const buf = Buffer.alloc(bs, 0x5a ^ seed);
let x = (seed * 2654435761) >>> 0 || 1;

Atomics.add(state, 1, 1);
while (Atomics.load(state, 0) === 0) Atomics.wait(state, 0, 0, 1000);

let ops = 0;
let bytes = 0;
while (Atomics.load(state, 0) === 1) {
  let block;
  if (seq) {
    // One shared cursor: the threads together make one sequential stream.
    block = (Atomics.add(state, 2, 1) >>> 0) % blocks;
  } else {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block = x % blocks;
  }
  const n = write ? writeSync(fd, buf, 0, bs, block * bs) : readSync(fd, buf, 0, bs, block * bs);
  bytes += n;
  ops++;
}
closeSync(fd);
parentPort.postMessage({ ops, bytes });
