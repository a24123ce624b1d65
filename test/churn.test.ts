// Churn: 32 domains created, booted to their banner and destroyed while
// their app still runs, 10 rounds in one VMM. Whatever a domain holds
// (vCPU worker, mailbox, guest memory, timers, event channels) must go with
// it: live workers and open fds come back exactly to the baseline, memory
// stays within noise while the VMM still runs (an ended domain keeps only
// its record).
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { BANNER_PREFIX } from '../packages/guest-kernel/src/index.ts';
import { Vmm } from '../packages/vmm/src/index.ts';
import { boot, lineMatching, until, within } from './lib/harness.ts';

const DOMAINS = 32;
const ROUNDS = Number(process.env.PVKIT_CHURN_ROUNDS ?? 10);
const GUEST_MEMORY = 4 << 20;

// vitest's fork has no --expose-gc; turning the flag on at run time and
// fetching gc from a fresh context is V8's documented way around that.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Heap plus ArrayBuffer/SharedArrayBuffer memory after a full GC, in bytes. */
async function liveBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function round(vmm: Vmm, r: number): Promise<void> {
  const doms = await boot(vmm, {
    domains: Array.from({ length: DOMAINS }, (_, i) => ({
      name: `churn-${r}-${i}`,
      memory: '4M',
      apps: ['sleep 30'],
    })),
  });
  await Promise.all(doms.map((d) => lineMatching(d, new RegExp(`^${BANNER_PREFIX}`), 20_000)));
  const exits = await within(
    Promise.all(doms.map((d) => vmm.destroy(d))),
    20_000,
    `round ${r}: destroying ${DOMAINS} domains`,
  );
  for (const e of exits) expect(e).toEqual({ reason: 'destroyed', code: 0 });
  await until(() => vmm.workerCount() === 1, 10_000, `round ${r}: vCPU workers end`);
  expect(vmm.serviceStats()).toMatchObject({ domains: 0, timersArmed: 0 });
}

/** One VMM through `rounds` rounds; workers, fds and memory checked against its first round. */
async function churn(rounds: number): Promise<void> {
  const vmm = new Vmm();
  try {
    await round(vmm, 0);
    const fds = openFds();
    const bytes = await liveBytes();
    expect(vmm.workerCount()).toBe(1); // the hypervisor service
    for (let r = 1; r <= rounds; r++) {
      await round(vmm, r);
      expect(vmm.workerCount()).toBe(1);
    }
    await until(() => openFds() === fds, 5000, `open fds back to ${fds} (now ${openFds()})`);
    // Measured while the VMM still runs and still lists every domain it
    // made: an ended domain keeps only its record (name, exit, console
    // tail, frozen stats). One round maps 32 × 4 MiB of guest memory
    // (128 MiB); a domain kept whole anywhere (Vmm.domains, service
    // client, listeners, timers) would leave 4 MiB per domain, 128 MiB per
    // round. 16 MiB is far above the few MiB that JIT code and caches move.
    const grown = (await liveBytes()) - bytes;
    expect(grown).toBeLessThan(16 << 20);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(GUEST_MEMORY * 4);
    const ended = vmm.domains;
    expect(ended).toHaveLength(DOMAINS * (rounds + 1));
    for (const d of ended) {
      expect(d.stats()).toMatchObject({ name: d.name, state: 'destroyed', vcpu: 'down' });
      expect(() => d.memory).toThrow(/has ended: its memory is released/);
    }
  } finally {
    await within(vmm.close(), 15_000, 'vmm.close()');
  }
  expect(vmm.workerCount()).toBe(0);
}

test(`${DOMAINS} domains created, booted and destroyed ${ROUNDS} times leak no worker, fd or memory`, async () => {
  // Warm-up: builds the worker bundles and lets V8 and libuv grow their
  // pools, so the baselines below are steady state.
  await churn(0);
  const fds = openFds();
  const bytes = await liveBytes();

  await churn(ROUNDS);

  expect(openFds()).toBe(fds);
  expect((await liveBytes()) - bytes).toBeLessThan(16 << 20);
}, 120_000);
