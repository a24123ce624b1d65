// The host-native floor of `pnpm bench net`: two Node worker threads
// exchanging UDP datagrams over 127.0.0.1 with node:dgram, the same payload
// sizes as the guests' netperf, counted the same way (at the receiving app,
// first to last arrival; request/response one at a time).
import { Worker } from 'node:worker_threads';

const WORKER = new URL('./native-worker.mjs', import.meta.url);

export const NATIVE_NET_NAME = 'Node dgram over 127.0.0.1, two worker threads';

function start(data: Record<string, unknown>): {
  w: Worker;
  next: () => Promise<Record<string, unknown>>;
} {
  const w = new Worker(WORKER, { workerData: data, execArgv: [] });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  w.on('message', (m: Record<string, unknown>) => {
    if (m.t === 'error') return; // counted as loss by the figures themselves
    const r = waiters.shift();
    if (r) r(m);
    else queue.push(m);
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = queue.shift();
      if (m) resolve(m);
      else {
        waiters.push(resolve);
        w.once('error', reject);
      }
    });
  return { w, next };
}

export interface NativeStream {
  pps: number;
  mbps: number;
  sent: number;
  received: number;
}

/** Datagrams per second reaching the receiving app. */
export async function nativeStream(
  size: number,
  seconds: number,
  warmup: number,
): Promise<NativeStream> {
  const sink = start({ role: 'sink', warmup });
  try {
    const { port } = (await sink.next()) as { port: number };
    const src = start({ role: 'source', size, seconds, warmup, peerPort: port });
    const { sent } = (await src.next()) as { sent: number };
    await src.w.terminate();
    await new Promise((r) => setTimeout(r, 100)); // the last datagrams land
    sink.w.postMessage('report');
    const r = (await sink.next()) as { n: number; bytes: number; seconds: number };
    return {
      pps: r.seconds > 0 ? (r.n - 1) / r.seconds : 0,
      mbps: r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0,
      sent,
      received: r.n,
    };
  } finally {
    await sink.w.terminate();
  }
}

/** Request/response transactions per second, one in flight, and the latency percentiles (µs). */
export async function nativeRr(size: number, seconds: number, warmup: number) {
  const echo = start({ role: 'echo' });
  try {
    const { port } = (await echo.next()) as { port: number };
    const cli = start({ role: 'client', size, seconds, warmup, peerPort: port });
    const { lat } = (await cli.next()) as { lat: number[] };
    await cli.w.terminate();
    const sorted = lat.slice().sort((a, b) => a - b);
    const pick = (p: number) =>
      (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) * 1000;
    return { tps: lat.length / seconds, p50us: pick(50), p99us: pick(99) };
  } finally {
    await echo.w.terminate();
  }
}
