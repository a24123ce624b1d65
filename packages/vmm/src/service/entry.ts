// Worker entry of the hypervisor service (started by the toolstack from an
// esbuild bundle). Control messages are read synchronously: the loop never
// returns to this thread's event loop until the toolstack says stop.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import '../devices/builtin.ts';
import { runServiceLoop } from './loop.ts';
import type { FromService, ServiceWorkerData, ToService } from './protocol.ts';
import { Service } from './service.ts';

const data = workerData as ServiceWorkerData;
const port = data.control;
const svc = new Service(data.timeBaseMs, new Float64Array(data.counters), (m: FromService) =>
  port.postMessage(m),
);
svc.collector = gcFunction();
runServiceLoop(svc, {
  doorbell: new Int32Array(data.doorbell),
  controlWords: new Int32Array(data.controlWords),
  receive: () => receiveMessageOnPort(port)?.message as ToService | undefined,
  spinUs: data.spinUs,
});
port.close();

/**
 * V8's gc() for Service.collect(). Without --expose-gc, the flag is on
 * only while a fresh context picks the function up, then off again for
 * every context made later. null if V8 refuses.
 */
function gcFunction(): (() => void) | null {
  const own: unknown = (globalThis as { gc?: unknown }).gc; // node --expose-gc
  if (typeof own === 'function') return () => own();
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => gc() : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
