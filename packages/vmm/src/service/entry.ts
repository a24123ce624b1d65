// Worker entry of the hypervisor service (started by the toolstack from an
// esbuild bundle). Control messages are read synchronously: the loop never
// returns to this thread's event loop until the toolstack says stop.
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
runServiceLoop(svc, {
  doorbell: new Int32Array(data.doorbell),
  controlWords: new Int32Array(data.controlWords),
  receive: () => receiveMessageOnPort(port)?.message as ToService | undefined,
  spinUs: data.spinUs,
});
port.close();
