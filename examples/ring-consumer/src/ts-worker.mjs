// Node 20 workers cannot load .ts files on their own: register tsx's ESM
// loader in this thread, then import the TypeScript entry we were given.
// (A project that compiles to .js starts its workers from the .js instead.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
