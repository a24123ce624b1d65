// Helpers for cross-package tests: a VMM per test (closed afterwards), and
// finite waits for lines and exits, so a stuck guest fails a test.
import { afterEach } from 'vitest';
import {
  type Domain,
  type DomainConfig,
  type ExitInfo,
  parseConfig,
  Vmm,
} from '../../packages/vmm/src/index.ts';

const open: Vmm[] = [];

/** A fresh VMM, destroyed with its domains after the test. */
export function testVmm(): Vmm {
  const vmm = new Vmm();
  open.push(vmm);
  return vmm;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => within(v.close(), 10_000, 'vmm.close()')));
});

/** `p`, or a rejection naming `what` after `ms`; a function `what` is read then (output so far). */
export function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    const name = () => (typeof what === 'function' ? what() : what);
    timer = setTimeout(() => reject(new Error(`${name()}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Resolves with the first console line (already logged or to come) that matches. */
export function lineMatching(dom: Domain, re: RegExp, ms = 15_000): Promise<string> {
  const seen = dom.consoleLog.find((l) => re.test(l));
  if (seen !== undefined) return Promise.resolve(seen);
  return within(
    new Promise<string>((resolve) => {
      const on = (l: string) => {
        if (!re.test(l)) return;
        dom.off('console', on);
        resolve(l);
      };
      dom.on('console', on);
    }),
    ms,
    `${dom.name}: waiting for ${re}`,
  );
}

export function exitOf(dom: Domain, ms = 20_000): Promise<ExitInfo> {
  return within(dom.exited, ms, `${dom.name}: waiting for its exit`);
}

/** Parse a config, create and start every domain. */
export async function boot(vmm: Vmm, raw: unknown): Promise<Domain[]> {
  const doms = await vmm.createDomains(parseConfig(raw));
  for (const d of doms) vmm.start(d);
  return doms;
}

/** A domain running one of the test guests in test/guests, chosen by its cmdline. */
export function guestConfig(
  name: string,
  script: string,
  extra: Partial<DomainConfig> = {},
): DomainConfig {
  return {
    name,
    memory: 4 << 20,
    vcpus: 1,
    cmdline: script,
    apps: [],
    disks: [],
    nics: [],
    kernel: new URL('../guests/probe.ts', import.meta.url).pathname,
    ...extra,
  };
}

/** Poll `cond` every 10 ms until it holds (or fail after ms). */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
