// Running pvkit domains for the hypercall benchmarks: boot, wait for a
// console line, read a number out of it, tear down. Every wait is finite.
import { BANNER_PREFIX } from '../../packages/guest-kernel/src/index.ts';
import { type Domain, parseConfig, Vmm } from '../../packages/vmm/src/index.ts';

export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The first console line matching `re` (already logged or to come). */
export function line(dom: Domain, re: RegExp, ms: number): Promise<RegExpExecArray> {
  for (const l of dom.consoleLog) {
    const m = re.exec(l);
    if (m) return Promise.resolve(m);
  }
  return within(
    new Promise((resolve) => {
      const on = (l: string) => {
        const m = re.exec(l);
        if (!m) return;
        dom.off('console', on);
        resolve(m);
      };
      dom.on('console', on);
    }),
    ms,
    `${dom.name}: ${re}`,
  );
}

export const banner = (dom: Domain, ms = 30_000) => line(dom, new RegExp(`^${BANNER_PREFIX}`), ms);

/** Boot the domains of `raw` in a fresh VMM, run `body`, always close the VMM. */
export async function withDomains<T>(
  raw: unknown,
  body: (doms: Domain[], vmm: Vmm) => Promise<T>,
): Promise<T> {
  const vmm = new Vmm();
  try {
    const doms = await vmm.createDomains(parseConfig(raw));
    for (const d of doms) vmm.start(d);
    return await body(doms, vmm);
  } finally {
    await within(vmm.close(), 15_000, 'closing the VMM');
  }
}

/** The number in `re`'s first group of a line that one of `doms` prints. */
export async function figure(dom: Domain, re: RegExp, ms: number): Promise<number> {
  const m = await line(dom, re, ms);
  const crash = dom.exit?.reason === 'crash' ? ` (${dom.exit.detail})` : '';
  const v = Number(m[1]);
  if (!Number.isFinite(v)) throw new Error(`${dom.name}: no number in "${m[0]}"${crash}`);
  return v;
}
