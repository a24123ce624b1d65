import { DeviceQueue, DriverQueue, GuestMemory, layoutSplitQueue } from '../../packages/virtio-ring/src/index.ts';
const mem = new GuestMemory(new SharedArrayBuffer(128 * 1024));
const ql = layoutSplitQueue(0, 256, 128);
function t(name: string, f: () => void, n: number) {
  f();
  const t0 = process.hrtime.bigint(); f(); const dt = Number(process.hrtime.bigint() - t0);
  console.log(name, (dt / n).toFixed(1), 'ns');
}
const u16 = mem.u16;
t('Atomics.load u16', () => { let s = 0; for (let i = 0; i < 1e7; i++) s += Atomics.load(u16, 100); return s; }, 1e7);
t('Atomics.store u16', () => { for (let i = 0; i < 1e7; i++) Atomics.store(u16, 100, i & 0xffff); }, 1e7);
t('plain u16 store', () => { for (let i = 0; i < 1e7; i++) u16[100 + (i & 7)] = i & 0xffff; }, 1e7);
const drv = new DriverQueue<number>(mem, ql);
t('addBuffer x256 + detachAll', () => { for (let r = 0; r < 40000; r++) { for (let k = 0; k < 256; k++) drv.addBuffer(65536, 64, true, k); drv.detachAll(); } }, 40000 * 256);
