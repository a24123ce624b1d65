// One function per case of `pnpm bench hypercall`; each returns one sample.
import { cpus } from 'node:os';
import { type Domain, parseConfig, Vmm } from '../../packages/vmm/src/index.ts';
import { banner, figure, line, withDomains, within } from './guests.ts';

const MEM = '4M';

export interface Chunked {
  /** ns per op over the whole run. */
  mean: number;
  /** ns per op of the best of 10 chunks (the least disturbed by other work). */
  best: number;
}

async function hcallBench(mode: 'null' | 'multicall', iters: number): Promise<Chunked> {
  return withDomains(
    { name: mode, memory: MEM, apps: [`hcall-bench ${mode} ${iters}`] },
    async ([d]) => {
      const re = /^hcall-bench: \S+ \d+ calls, ([\d.]+) ns per call \(best chunk ([\d.]+)\)$/;
      const m = await line(d, re, 180_000);
      return { mean: Number(m[1]), best: Number(m[2]) };
    },
  );
}

/** ns per null hypercall (xen_version) from inside a guest. */
export const nullCall = (iters: number) => hcallBench('null', iters);

/** ns per call inside 32-entry multicalls. */
export const multicall32 = (iters: number) => hcallBench('multicall', iters);

/** ns per interdomain event round trip between two guests. */
export function evtchnRtt(rounds: number): Promise<number> {
  return withDomains(
    {
      domains: [
        { name: 'ping', memory: MEM, apps: [`evtchn-pingpong ping @pong ${rounds}`] },
        { name: 'pong', memory: MEM, apps: [`evtchn-pingpong serve @ping ${rounds}`] },
      ],
    },
    ([ping]) =>
      figure(ping, /^evtchn-pingpong: \d+ round trips, ([\d.]+) ns per round trip$/, 300_000),
  );
}

/** % of host CPU used by the whole process while 8 guests sit idle for `seconds`. */
export function idle8(seconds: number): Promise<number> {
  const domains = Array.from({ length: 8 }, (_, i) => ({ name: `idle${i}`, memory: MEM }));
  return withDomains({ domains }, async (doms) => {
    await Promise.all(doms.map((d) => banner(d)));
    await new Promise((r) => setTimeout(r, 300)); // let every kernel reach its idle loop
    const before = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const used = process.cpuUsage(before);
    const wallUs = (performance.now() - t0) * 1000;
    if (doms.some((d) => !d.alive)) throw new Error('an idle guest ended during idle-8');
    return ((used.user + used.system) / (wallUs * cpus().length)) * 100;
  });
}

/**
 * ms from create to banner for one domain: `warm` with the hypervisor
 * service already running (as `xl create` finds Xen running), `cold` in a
 * fresh VMM whose service worker starts alongside the vCPU.
 */
export async function boot1(): Promise<{ warm: number; cold: number }> {
  const t0 = performance.now();
  const vmm = new Vmm();
  try {
    const first = await vmm.createDomains(parseConfig({ name: 'cold', memory: MEM }));
    vmm.start(first[0]);
    await banner(first[0]);
    const cold = performance.now() - t0;
    const t1 = performance.now();
    const [d] = await vmm.createDomains(parseConfig({ name: 'warm', memory: MEM }));
    vmm.start(d);
    await banner(d);
    return { warm: performance.now() - t1, cold };
  } finally {
    await within(vmm.close(), 15_000, 'closing the VMM');
  }
}

/** ms until 32 domains, created and started together, have all printed their banner. */
export function boot32(): Promise<number> {
  const t0 = performance.now();
  const domains = Array.from({ length: 32 }, (_, i) => ({ name: `b${i}`, memory: MEM }));
  return withDomains({ domains }, async (doms: Domain[]) => {
    await within(Promise.all(doms.map((d) => banner(d, 60_000))), 60_000, 'boot-32');
    return performance.now() - t0;
  });
}
