// `pnpm bench blk`: a guest's blkbench against the host-native floor
// (bench/blk/native.ts) on the same file, with the same pattern, block size
// and queue depth, page cache warm, run side by side: each round runs the
// native side, then a fresh guest domain, so both see the same machine state.
import { Vmm } from '../packages/vmm/src/index.ts';
import { BLK_CASES, type BlkCaseSpec, blkBenchSizes } from './blk/cases.ts';
import { createBenchFile } from './blk/file.ts';
import { nativeBlkName, runNativeBlk } from './blk/native.ts';
import { median, ratioOf } from './lib/stats.ts';
import type { BenchCase, BenchOptions } from './lib/types.ts';

/** Seconds of the guest's run that are not measured (queues fill, code warms up). */
const WARMUP_S = 0.2;
/** The guest's disk: queues served by their own backend workers (see BENCHMARKS.md); PVKIT_BLK_QUEUES=N for A/B runs. */
const GUEST_QUEUES = Number(process.env.PVKIT_BLK_QUEUES ?? 1);
/** PVKIT_BLK_CMDLINE: the guest kernel's command line (e.g. idle=block, for A/B runs). */
const GUEST_CMDLINE = process.env.PVKIT_BLK_CMDLINE ?? '';
/** PVKIT_BLK_IOTHREADS=N: the disk's "iothreads" (for A/B runs); unset: the default. */
const IOTHREADS =
  process.env.PVKIT_BLK_IOTHREADS === undefined
    ? {}
    : { iothreads: Number(process.env.PVKIT_BLK_IOTHREADS) };

interface GuestRun {
  value: number;
  p50us: number;
  p99us: number;
  kicksPerRequest: number;
  interruptsPerRequest: number;
  backendSleepsPerRequest: number;
}

async function runGuest(
  vmm: Vmm,
  spec: BlkCaseSpec,
  path: string,
  durationMs: number,
  round: number,
): Promise<GuestRun> {
  const cmd =
    `blkbench vda ${spec.pattern} ${spec.rw} bs=${spec.bs} qd=${spec.qd} ` +
    `time=${durationMs / 1000} warmup=${WARMUP_S}`;
  const [dom] = await vmm.createDomains([
    {
      name: `blk-${spec.id}-${round}`,
      memory: 64 << 20,
      vcpus: 1,
      cmdline: GUEST_CMDLINE,
      apps: [cmd],
      disks: [{ path, queues: GUEST_QUEUES, ...IOTHREADS }],
      nics: [],
    },
  ]);
  vmm.start(dom);
  const exit = await dom.exited;
  const line = dom.consoleLog.find((l) => l.startsWith('blkbench-json '));
  if (exit.reason !== 'poweroff' || exit.code !== 0 || !line)
    throw new Error(`guest ${spec.id} failed (${exit.reason} ${exit.code}):\n${dom.consoleText()}`);
  const r = JSON.parse(line.slice('blkbench-json '.length)) as {
    mbps: number;
    iops: number;
    p50us: number;
    p99us: number;
  };
  const dev = dom.stats().devices[0];
  const n = Math.max(1, dev.chains);
  return {
    value: spec.unit === 'MB/s' ? r.mbps : r.iops,
    p50us: r.p50us,
    p99us: r.p99us,
    kicksPerRequest: dev.kicks / n,
    interruptsPerRequest: dev.interrupts / n,
    backendSleepsPerRequest: dev.sleeps / n,
  };
}

export default async function blk(opts: BenchOptions): Promise<BenchCase[]> {
  const { fileBytes, durationMs } = blkBenchSizes(opts.quick);
  const only = process.env.PVKIT_BLK_CASES?.split(',');
  opts.log(`blk: creating a ${fileBytes >> 20} MiB bench file (warm page cache)`);
  const file = createBenchFile(fileBytes);
  const vmm = new Vmm();
  const out: BenchCase[] = [];
  try {
    for (const spec of BLK_CASES) {
      if (only && !only.includes(spec.id)) continue;
      const samples: number[] = [];
      const nativeSamples: number[] = [];
      let last: GuestRun | null = null;
      for (let r = 0; r < opts.runs; r++) {
        const native = await runNativeBlk(spec.id, { path: file.path, fileBytes, durationMs });
        nativeSamples.push(native.value);
        last = await runGuest(vmm, spec, file.path, durationMs, r);
        samples.push(last.value);
        opts.log(
          `blk ${spec.id} run ${r + 1}: guest ${last.value.toFixed(0)}, native ${native.value.toFixed(0)} ${spec.unit}` +
            ` (kicks/req ${last.kicksPerRequest.toFixed(3)}, irq/req ${last.interruptsPerRequest.toFixed(3)}, sleeps/req ${last.backendSleepsPerRequest.toFixed(3)}, p50 ${last.p50us.toFixed(0)} us)`,
        );
      }
      const value = median(samples);
      const floor = median(nativeSamples);
      out.push({
        case: spec.id,
        value,
        unit: spec.unit,
        native: floor,
        nativeName: nativeBlkName(spec.id),
        ratio: ratioOf(value, floor, true),
        params: {
          pattern: spec.pattern,
          rw: spec.rw,
          bs: spec.bs,
          qd: spec.qd,
          fileBytes,
          durationMs,
          warmupMs: WARMUP_S * 1000,
          guestQueues: GUEST_QUEUES,
        },
        samples,
        nativeSamples,
        ...(last
          ? {
              extra: {
                kicksPerRequest: round3(last.kicksPerRequest),
                interruptsPerRequest: round3(last.interruptsPerRequest),
                backendSleepsPerRequest: round3(last.backendSleepsPerRequest),
                p50us: round3(last.p50us),
                p99us: round3(last.p99us),
              },
            }
          : {}),
      });
    }
  } finally {
    await vmm.close();
    file.remove();
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
