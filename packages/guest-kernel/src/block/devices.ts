// The kernel's block devices by name (vda, vdb, ...): drivers add them at
// probe, apps open them. One registry per kernel.
import type { Kernel } from '../kernel.ts';
import { RequestQueue } from './request-queue.ts';
import type { BlockDriver } from './types.ts';

const registries = new WeakMap<Kernel, Map<string, RequestQueue>>();

function registry(kernel: Kernel): Map<string, RequestQueue> {
  let r = registries.get(kernel);
  if (!r) {
    r = new Map();
    registries.set(kernel, r);
  }
  return r;
}

/** Make a probed disk available to apps (its request queue is created here). */
export function addBlockDevice(kernel: Kernel, driver: BlockDriver): RequestQueue {
  const r = registry(kernel);
  if (r.has(driver.name)) throw new Error(`block device ${driver.name} exists already`);
  const depth = depthFromCmdline(kernel.info.cmdline);
  const q = new RequestQueue(driver, () => kernel.time.nowNs(), depth);
  r.set(driver.name, q);
  return q;
}

export function blockDevice(kernel: Kernel, name: string): RequestQueue | undefined {
  return registry(kernel).get(name);
}

export function blockDeviceNames(kernel: Kernel): string[] {
  return [...registry(kernel).keys()].sort();
}

/** `blk.depth=N` on the kernel command line sets every disk's queue depth. */
function depthFromCmdline(cmdline: string): number | undefined {
  const m = /(?:^|\s)blk\.depth=(\d+)(?:\s|$)/.exec(cmdline);
  return m ? Number(m[1]) : undefined;
}
