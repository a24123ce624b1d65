const sab = new SharedArrayBuffer(4096);
const u16 = new Uint16Array(sab), i32 = new Int32Array(sab), u32 = new Uint32Array(sab), u8 = new Uint8Array(sab);
const ab16 = new Uint16Array(2048);
function t(name: string, f: () => number, n: number) {
  f(); f();
  const t0 = process.hrtime.bigint(); f(); const dt = Number(process.hrtime.bigint() - t0);
  console.log(name.padEnd(28), (dt / n).toFixed(2), 'ns');
}
const N = 2e7;
t('Atomics.load u16', () => { let s = 0; for (let i = 0; i < N; i++) s += Atomics.load(u16, 100); return s; }, N);
t('Atomics.load i32', () => { let s = 0; for (let i = 0; i < N; i++) s += Atomics.load(i32, 100); return s; }, N);
t('Atomics.load u32', () => { let s = 0; for (let i = 0; i < N; i++) s += Atomics.load(u32, 100); return s; }, N);
t('Atomics.load u8', () => { let s = 0; for (let i = 0; i < N; i++) s += Atomics.load(u8, 100); return s; }, N);
t('Atomics.load u16 nonshared', () => { let s = 0; for (let i = 0; i < N; i++) s += Atomics.load(ab16, 100); return s; }, N);
t('plain load u16', () => { let s = 0; for (let i = 0; i < N; i++) s += u16[100 + (i & 7)]; return s; }, N);
t('Atomics.store u16', () => { for (let i = 0; i < N; i++) Atomics.store(u16, 100, i & 0xffff); return 0; }, N);
t('Atomics.store i32', () => { for (let i = 0; i < N; i++) Atomics.store(i32, 100, i); return 0; }, N);
t('Atomics.add i32', () => { for (let i = 0; i < N; i++) Atomics.add(i32, 100, 1); return 0; }, N);
t('Atomics.exchange u16', () => { for (let i = 0; i < N; i++) Atomics.exchange(u16, 100, i & 0xffff); return 0; }, N);
t('Atomics.compareExchange u16', () => { for (let i = 0; i < N; i++) Atomics.compareExchange(u16, 100, 5, 5); return 0; }, N);
