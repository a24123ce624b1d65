// Helpers for the virtio-blk end-to-end tests: a VMM and a scratch directory
// per test (both released afterwards, whatever happened), guests run with a
// finite timeout, and the blkverify pattern computed on the host side.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { fillPattern } from '../../packages/guest-kernel/src/apps/blk-pattern.ts';
import {
  type Domain,
  type DomainConfig,
  type ExitInfo,
  Vmm,
} from '../../packages/vmm/src/index.ts';
import { within } from '../lib/harness.ts';

/** A fresh VMM per call, closed (domains destroyed, workers gone) after the test. */
export function useVmm(): () => Vmm {
  const open: Vmm[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((v) => within(v.close(), 15_000, 'vmm.close()')));
  });
  return () => {
    const v = new Vmm();
    open.push(v);
    return v;
  };
}

/** A temp directory per test, removed afterwards. */
export function useScratchDir(): { readonly path: string } {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvkit-blk-e2e-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get path() {
      return dir;
    },
  };
}

export interface GuestRun {
  dom: Domain;
  exit: ExitInfo;
  log: string[];
}

/** Create one domain with these disks and apps, run it to its end (or fail after `ms`). */
export async function runGuest(
  vmm: Vmm,
  name: string,
  disks: Record<string, unknown>[],
  apps: string[],
  opts: { ms?: number; memory?: number; baseDir?: string; cmdline?: string } = {},
): Promise<GuestRun> {
  const config: DomainConfig = {
    name,
    memory: opts.memory ?? 16 << 20,
    vcpus: 1,
    cmdline: opts.cmdline ?? '',
    apps,
    disks,
    nics: [],
    ...(opts.baseDir ? { baseDir: opts.baseDir } : {}),
  };
  const [dom] = await vmm.createDomains([config]);
  vmm.start(dom);
  const exit = await within(dom.exited, opts.ms ?? 30_000, `${name}: waiting for its exit`).catch(
    async (e: unknown) => {
      await vmm.destroy(dom);
      throw new Error(`${String(e)}\n${dom.consoleText()}`);
    },
  );
  return { dom, exit, log: dom.consoleLog };
}

/** The bytes blkverify writes for disk range [offset, offset + length) under `seed`. */
export function hostPattern(seed: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  fillPattern(b, seed, offset);
  return b;
}

// One implementation of these lives in test/lib/harness.ts.
export { lineMatching as lineOf, within } from '../lib/harness.ts';
