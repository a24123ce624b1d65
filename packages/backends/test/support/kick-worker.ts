// Rings doorbell `index` of `words` once each time the test asks (a guest's kicks, from a real thread).
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '@pvkit/virtio-ring';

const { words } = workerData as { words: Int32Array };
parentPort?.on('message', (index: number) => {
  new Doorbell(words, index).ring();
  parentPort?.postMessage('rang');
});
parentPort?.postMessage('ready');
