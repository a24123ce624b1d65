// Node 20 workers cannot load .ts files: register tsx's ESM loader in this
// thread, then import the TypeScript entry named in workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
