// `pnpm bench net`: guest to guest through the switch against the host's
// own loopback (two Node workers on node:dgram), same payload sizes, side by
// side in each round: native first, then two fresh guests with checksum
// offload, then two without (net.csum=off). The case value is with offload;
// the figure without is in `extra`.
//
//   udp-64, udp-1472   UDP stream: datagrams per second reaching the receiving app
//   udp-rr-64          one 64-byte request in flight, echoed: transactions per second
import { Vmm } from '../packages/vmm/src/index.ts';
import { median, ratioOf } from './lib/stats.ts';
import type { BenchCase, BenchOptions } from './lib/types.ts';
import { type GuestNetRun, guestNet } from './net/guest.ts';
import { NATIVE_NET_NAME, nativeRr, nativeStream } from './net/native.ts';

interface NetCaseSpec {
  id: string;
  mode: 'stream' | 'rr';
  size: number;
  unit: 'packets/s' | 'transactions/s';
}

const CASES: readonly NetCaseSpec[] = [
  { id: 'udp-64', mode: 'stream', size: 64, unit: 'packets/s' },
  { id: 'udp-1472', mode: 'stream', size: 1472, unit: 'packets/s' },
  { id: 'udp-rr-64', mode: 'rr', size: 64, unit: 'transactions/s' },
];

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export default async function net(opts: BenchOptions): Promise<BenchCase[]> {
  const seconds = opts.quick ? 0.5 : 2;
  const warmup = opts.quick ? 0.2 : 0.5;
  const only = process.env.PVKIT_NET_CASES?.split(',');
  const vmm = new Vmm();
  const out: BenchCase[] = [];
  try {
    for (const spec of CASES) {
      if (only && !only.includes(spec.id)) continue;
      const samples: number[] = [];
      const nativeSamples: number[] = [];
      const plain: number[] = [];
      const runs: GuestNetRun[] = [];
      const nativeLat: { p50us: number; p99us: number }[] = [];
      for (let r = 0; r < opts.runs; r++) {
        let native: number;
        if (spec.mode === 'stream') native = (await nativeStream(spec.size, seconds, warmup)).pps;
        else {
          const n = await nativeRr(spec.size, seconds, warmup);
          native = n.tps;
          nativeLat.push(n);
        }
        nativeSamples.push(native);
        const g = await guestNet(vmm, spec.mode, spec.size, seconds, warmup, true);
        runs.push(g);
        samples.push(g.value);
        const p = await guestNet(vmm, spec.mode, spec.size, seconds, warmup, false);
        plain.push(p.value);
        opts.log(
          `net ${spec.id} run ${r + 1}: guest ${g.value.toFixed(0)} (no offload ${p.value.toFixed(0)}), ` +
            `native ${native.toFixed(0)} ${spec.unit}`,
        );
      }
      const value = median(samples);
      const floor = median(nativeSamples);
      const mid = runs[samples.indexOf(value)] ?? runs[0];
      const extra: Record<string, number | string> = {
        withoutOffload: round(median(plain), 0),
        ratioWithoutOffload: round(ratioOf(median(plain), floor, true) ?? 0, 3),
        kicksPerFrame: round(mid.kicksPerFrame, 4),
        interruptsPerFrame: round(mid.interruptsPerFrame, 4),
      };
      if (spec.mode === 'stream') {
        extra.guestMBps = round(mid.mbps ?? 0);
        extra.guestLossPct = round(mid.lossPct ?? 0);
      } else {
        extra.guestP50us = round(mid.p50us ?? 0);
        extra.guestP99us = round(mid.p99us ?? 0);
        extra.nativeP50us = round(median(nativeLat.map((n) => n.p50us)));
        extra.nativeP99us = round(median(nativeLat.map((n) => n.p99us)));
      }
      out.push({
        case: spec.id,
        value,
        unit: spec.unit,
        native: floor,
        nativeName: NATIVE_NET_NAME,
        ratio: ratioOf(value, floor, true),
        params: {
          size: spec.size,
          seconds,
          warmup,
          offload: true,
          switch: 'one switch worker, two guests',
        },
        samples,
        nativeSamples,
        extra,
      });
    }
  } finally {
    await vmm.close();
  }
  return out;
}
