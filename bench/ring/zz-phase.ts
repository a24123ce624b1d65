import { DeviceQueue, DriverQueue, GuestMemory, layoutSplitQueue } from '../../packages/virtio-ring/src/index.ts';
const mem = new GuestMemory(new SharedArrayBuffer(128 * 1024));
const ql = layoutSplitQueue(0, 256, 128);
const drv = new DriverQueue<number>(mem, ql);
const dev = new DeviceQueue(mem, ql);
const tm = [0, 0, 0, 0];
function iter(started: number) {
  let t = process.hrtime.bigint();
  for (let k = 0; k < 256; k++) drv.addBuffer(65536 + k * 64, 64, true, started + k);
  drv.publish();
  let t2 = process.hrtime.bigint(); tm[0] += Number(t2 - t); t = t2;
  let h: number;
  const heads = [];
  while ((h = dev.popHead()) >= 0) heads.push(h);
  t2 = process.hrtime.bigint(); tm[1] += Number(t2 - t); t = t2;
  for (const x of heads) dev.push(x, 64);
  dev.publish();
  t2 = process.hrtime.bigint(); tm[2] += Number(t2 - t); t = t2;
  let s = 0;
  for (let x = drv.reclaim(); x !== undefined; x = drv.reclaim()) s += x;
  t2 = process.hrtime.bigint(); tm[3] += Number(t2 - t);
  return s;
}
for (let i = 0; i < 20000; i++) iter(i * 256);
const best = [1e9, 1e9, 1e9, 1e9];
const R = 2000;
for (let b = 0; b < 30; b++) {
  tm.fill(0);
  for (let i = 0; i < R; i++) iter(i * 256);
  for (let k = 0; k < 4; k++) best[k] = Math.min(best[k], tm[k] / R / 256);
}
console.log('min: add', best[0].toFixed(1), 'pop', best[1].toFixed(1), 'push', best[2].toFixed(1), 'reclaim', best[3].toFixed(1), 'ns/op');
