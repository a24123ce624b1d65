// `pnpm bench ring`: chains per second through one split virtqueue between
// two workers (the real @pvkit/virtio-ring driver and device halves), ring
// size 256, one-buffer chains, set beside the same algorithm in C
// (bench/native/ring.c), run interleaved round by round in the same process.
import { Worker } from 'node:worker_threads';
import { GuestMemory, type WasmMemory } from '../packages/virtio-ring/src/index.ts';
import { buildNative, runNative } from './lib/native.ts';
import { median, ratioOf } from './lib/stats.ts';
import type { BenchCase, BenchOptions } from './lib/types.ts';
import { CTL, memBytes, type RingMode, type RingResult, type RingRun } from './ring/protocol.ts';

const RING_SIZE = 256;
const SPIN = 1000;
const WARMUP_CHAINS = 200_000;
const MIN_CHAINS = 50_000;
/** Target length of one measured run (the C floor moves 3x as many chains). */
const RUN_SECONDS = 0.5;
const QUICK_RUN_SECONDS = 0.05;
const CASES: { mode: RingMode; batch: number }[] = [
  { mode: 'poll', batch: 1 },
  { mode: 'poll', batch: 16 },
  { mode: 'poll', batch: 64 },
  { mode: 'notify', batch: 1 },
  { mode: 'notify', batch: 16 },
  { mode: 'notify', batch: 64 },
];
const NATIVE_NAME = 'C, two pthreads, same algorithm';

type Reply = { ok: true; result: RingResult } | { ok: false; error: string };

/**
 * Both workers get the guest memory once, at start, and keep it for every
 * run, as a VMM's vCPU and backend threads keep their domain's: V8 inlines
 * the WebAssembly atomics of one memory into the hot loops, and a second
 * memory in the same thread would undo that (ring-index.ts).
 */
function startWorker(memory: SharedArrayBuffer | WasmMemory): Worker {
  return new Worker(new URL('../test/support/ts-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('./ring/worker.ts', import.meta.url).href, memory },
  });
}

function ask(w: Worker, run: RingRun): Promise<RingResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Reply) => {
      w.off('error', onError);
      if (m.ok) resolve(m.result);
      else reject(new Error(`${run.role}: ${m.error}`));
    };
    const onError = (e: Error) => {
      w.off('message', onMessage);
      reject(e);
    };
    w.once('message', onMessage);
    w.once('error', onError);
  });
}

async function runJs(
  workers: [Worker, Worker],
  mode: RingMode,
  batch: number,
  count: number,
): Promise<{ mops: number; driver: RingResult; device: RingResult }> {
  const ctl = new SharedArrayBuffer(CTL.WORDS * 4);
  const base = { mode, batch, ringSize: RING_SIZE, count, spin: SPIN, ctl };
  const pDriver = ask(workers[0], { ...base, role: 'driver' });
  const pDevice = ask(workers[1], { ...base, role: 'device' });
  workers[0].postMessage({ ...base, role: 'driver' });
  workers[1].postMessage({ ...base, role: 'device' });
  const [driver, device] = await Promise.all([pDriver, pDevice]);
  if (driver.chains !== count || device.chains !== count)
    throw new Error(`moved ${driver.chains}/${device.chains} of ${count} chains`);
  return { mops: count / driver.elapsedNs / 1e-3, driver, device };
}

export default async function ring(opts: BenchOptions): Promise<BenchCase[]> {
  const native = buildNative('ring');
  if (!native.ok) opts.log(`ring: ${native.reason}`);
  // PVKIT_RING_MEMORY=sab: a plain SharedArrayBuffer, ring indexes through Atomics.
  const bytes = memBytes(RING_SIZE);
  const mem = GuestMemory.allocate(bytes, process.env.PVKIT_RING_MEMORY === 'sab' ? 'sab' : 'auto');
  const workers: [Worker, Worker] = [startWorker(mem.shareable), startWorker(mem.shareable)];
  const out: BenchCase[] = [];
  try {
    // PVKIT_RING_CASES=poll-b1,poll-b64 runs some cases only.
    const only = process.env.PVKIT_RING_CASES?.split(',');
    for (const { mode, batch } of CASES) {
      const id = `${mode}-b${batch}`;
      if (only && !only.includes(id)) continue;
      // One unmeasured run so that both workers' code is optimised; its
      // rate sizes the measured runs to about RUN_SECONDS each.
      const warm = await runJs(workers, mode, batch, WARMUP_CHAINS);
      const seconds = opts.quick ? QUICK_RUN_SECONDS : RUN_SECONDS;
      const count = Math.max(MIN_CHAINS, Math.round(warm.mops * 1e6 * seconds));
      const samples: number[] = [];
      const nativeSamples: number[] = [];
      let last: Awaited<ReturnType<typeof runJs>> | null = null;
      let yields = 0;
      let nativeYields = 0;
      // JS and C alternate, run by run, so that both see the same machine.
      for (let r = 0; r < opts.runs; r++) {
        last = await runJs(workers, mode, batch, count);
        samples.push(last.mops);
        yields += last.driver.yields + last.device.yields;
        if (native.ok) {
          const args = [mode, String(batch), String(RING_SIZE), String(count * 3)];
          const c = runNative(native.path, args);
          nativeSamples.push(c.mops);
          nativeYields += c.yields;
        }
      }
      const value = median(samples);
      const floor = native.ok ? median(nativeSamples) : null;
      // Yields: an idle poller gave its core away (another process had it):
      // a sign that this machine was busy during the case.
      // Idle polls per chain say which side was the bottleneck: the other.
      const extra: Record<string, number> = { yields, nativeYields };
      if (last && mode === 'poll') {
        extra.driverIdlePerChain = last.driver.idle / count;
        extra.deviceIdlePerChain = last.device.idle / count;
      }
      if (last && mode === 'notify') {
        extra.kicksPerChain = last.driver.kicks / count;
        extra.interruptsPerChain = last.device.interrupts / count;
        extra.driverSleeps = last.driver.sleeps;
        extra.deviceSleeps = last.device.sleeps;
      }
      out.push({
        case: id,
        value,
        unit: 'Mops/s',
        native: floor,
        nativeName: native.ok ? NATIVE_NAME : native.reason,
        ratio: ratioOf(value, floor, true),
        params: { ringSize: RING_SIZE, batch, mode, chains: count, spin: SPIN },
        samples,
        ...(native.ok ? { nativeSamples } : {}),
        extra,
      });
      opts.log(
        `ring ${id}: ${value.toFixed(2)} Mops/s` +
          (floor === null ? '' : `, C ${floor.toFixed(2)}, ratio ${(value / floor).toFixed(2)}`),
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
