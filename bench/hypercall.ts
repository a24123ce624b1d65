// `pnpm bench hypercall`: the cost of a trap, of a batched trap, of an
// interdomain event round trip, of idling, and of booting, each measured
// from real guests in worker threads. The null case is set beside our own C
// two-thread spin round trip (bench/native/hcall.c), run interleaved with
// it round by round so that both see the same machine.

import {
  boot1,
  boot32,
  type Chunked,
  evtchnRtt,
  idle8,
  multicall32,
  nullCall,
} from './hypercall/cases.ts';
import { buildNative, runNative } from './lib/native.ts';
import { median, ratioOf } from './lib/stats.ts';
import type { BenchCase, BenchOptions } from './lib/types.ts';

const C_NAME = 'C, two pthreads spinning on one cache line (bench/native/hcall.c)';

async function samples(n: number, one: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  return out;
}

function latency(
  id: string,
  unit: string,
  xs: number[],
  params: Record<string, unknown>,
  native: number[] | null,
  nativeName: string,
): BenchCase {
  const value = median(xs);
  const nat = native ? median(native) : null;
  return {
    case: id,
    value,
    unit,
    native: nat,
    nativeName,
    ratio: ratioOf(value, nat, false),
    params,
    samples: xs,
    ...(native ? { nativeSamples: native } : {}),
  };
}

export default async function hypercall(opts: BenchOptions): Promise<BenchCase[]> {
  const { runs, quick, log } = opts;
  const iters = quick ? 100_000 : 1_000_000;
  const cases: BenchCase[] = [];

  // null: interleave C and pvkit round by round. Both sides run in 10 chunks
  // and report their best chunk (C: `min`), the cost least disturbed by the
  // other work on this machine; the means over whole runs go in `extra`.
  const c = buildNative('hcall');
  if (!c.ok) log(`native floor skipped: ${c.reason}`);
  await nullCall(20_000); // build the bundles, warm the machine up
  const js: Chunked[] = [];
  const nat: Record<string, number>[] = [];
  for (let r = 0; r < runs; r++) {
    if (c.ok) nat.push(runNative(c.path, [String(iters / 10), '10']));
    js.push(await nullCall(iters));
    log(
      `null: run ${r + 1}/${runs}: pvkit ${js[r].best.toFixed(1)} ns (mean ${js[r].mean.toFixed(1)})` +
        (c.ok ? `, C ${nat[r].min.toFixed(1)} ns (median chunk ${nat[r].ns.toFixed(1)})` : ''),
    );
  }
  const floor = c.ok ? nat.map((n) => n.min) : null;
  const nullCase = latency(
    'null',
    'ns',
    js.map((x) => x.best),
    { iterations: iters, call: 'xen_version(version)', chunks: 10 },
    floor,
    c.ok ? C_NAME : c.reason,
  );
  nullCase.extra = {
    pvkitMeanNs: median(js.map((x) => x.mean)),
    ...(c.ok ? { nativeMedianChunkNs: median(nat.map((n) => n.ns)) } : {}),
  };
  cases.push(nullCase);

  const mc: Chunked[] = [];
  for (let r = 0; r < runs; r++) mc.push(await multicall32(iters));
  const perCallFloor = floor ? floor.map((x) => x / 32) : null;
  const mcCase = latency(
    'multicall-32',
    'ns',
    mc.map((x) => x.best),
    { iterations: iters, batch: 32, chunks: 10 },
    perCallFloor,
    c.ok ? `${C_NAME}, / 32 (one trap per batch)` : c.reason,
  );
  mcCase.extra = { pvkitMeanNs: median(mc.map((x) => x.mean)) };
  cases.push(mcCase);
  log(
    `multicall-32: ${mc.map((x) => `${x.best.toFixed(1)} (mean ${x.mean.toFixed(1)})`).join(', ')} ns`,
  );

  const rounds = quick ? 2_000 : 20_000;
  const rtt = await samples(runs, () => evtchnRtt(rounds));
  cases.push(
    latency(
      'evtchn-rtt',
      'ns',
      rtt,
      { rounds },
      null,
      'no native floor: two guests, the VMM and event delivery have no C counterpart here',
    ),
  );
  log(`evtchn-rtt: ${rtt.map((x) => x.toFixed(0)).join(', ')} ns`);

  const seconds = quick ? 1 : 5;
  const idle = await samples(runs, () => idle8(seconds));
  cases.push(
    latency(
      'idle-8',
      '% host CPU',
      idle,
      { domains: 8, seconds },
      null,
      'no native floor (target: < 2%)',
    ),
  );
  log(`idle-8: ${idle.map((x) => x.toFixed(2)).join(', ')} %`);

  const b1: { warm: number; cold: number }[] = [];
  for (let r = 0; r < runs; r++) b1.push(await boot1());
  const boot1Case = latency(
    'boot-1',
    'ms',
    b1.map((b) => b.warm),
    { memory: '4M', service: 'running' },
    null,
    'no native floor (target: <= 150 ms)',
  );
  boot1Case.extra = { coldVmmMs: median(b1.map((b) => b.cold)) };
  cases.push(boot1Case);
  log(
    `boot-1: ${b1.map((b) => `${b.warm.toFixed(1)} (fresh VMM ${b.cold.toFixed(1)})`).join(', ')} ms`,
  );

  const b32 = await samples(quick ? 1 : runs, boot32);
  cases.push(
    latency(
      'boot-32',
      'ms',
      b32,
      { domains: 32, memory: '4M' },
      null,
      'no native floor (target: <= 5000 ms)',
    ),
  );
  log(`boot-32: ${b32.map((x) => x.toFixed(0)).join(', ')} ms`);
  return cases;
}
