// Ping-pong partner for the doorbell test: wait for a ping, answer with a pong.
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '../../src/index.ts';

const { words, rounds, spin } = workerData as { words: Int32Array; rounds: number; spin: number };
const ping = new Doorbell(words, 0);
const pong = new Doorbell(words, 32);
let missed = 0;
parentPort!.postMessage('ready');
for (let i = 0; i < rounds; i++) {
  if (!ping.wait(spin, 2000)) missed++;
  pong.ring();
}
parentPort!.postMessage({ missed });
