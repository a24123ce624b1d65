// Stands in for a device backend: it holds only the guest's memory and raises a port.
import { workerData } from 'node:worker_threads';
import { raiseEvent } from '../src/index.ts';

const { mem, port } = workerData as { mem: SharedArrayBuffer; port: number };
// Give the main thread time to go to sleep first.
setTimeout(() => raiseEvent(new Int32Array(mem), port), 100);
