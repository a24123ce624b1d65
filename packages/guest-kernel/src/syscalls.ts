// The system-call-like API an app gets: console, time, sleep, exit, event
// channels, and (for benchmarks and experiments) the raw trap and pages of
// guest memory, block devices and I/O buffers, and sockets (./netif).
import type { Hypercall } from '@pvkit/hypercall';
import { blockDevice, blockDeviceNames } from './block/devices.ts';
import { allocIoBuffer, BlockHandle, type IoBuffer } from './block/handle.ts';
import { type Channel, connect, listen } from './channels.ts';
import type { Kernel } from './kernel.ts';
import { type NetSys, netSys } from './netif/net-sys.ts';

/** Thrown by sys.exit(): ends the app with `code`, like exit(3). */
export class AppExit {
  declare readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

export interface Sys {
  readonly argv: readonly string[];
  readonly domid: number;
  /** The domain's name. */
  readonly domain: string;
  /** One console line. */
  print(line: string): void;
  /** System time in ms (fractional): ns since the VMM's time origin / 1e6. */
  now(): number;
  sleep(ms: number): Promise<void>;
  yield(): Promise<void>;
  exit(code: number): never;
  /** Offer a port to domain `peer`. */
  listen(peer: number): Channel;
  /** Bind the port domain `peer` offered to this one (waits up to timeoutMs). */
  connect(peer: number, timeoutMs?: number): Promise<Channel>;
  /** The raw trap: a result >= 0 or -errno. */
  readonly hypercall: Hypercall;
  /** n pages of guest memory for the app; returns the GPA. */
  allocPages(n: number): number;
  /** All of guest memory. */
  readonly memory: DataView;
  /** Block devices: `names()` lists the disks, `open("vda")` opens one (throws if absent). */
  readonly blk: { names(): string[]; open(name: string): BlockHandle };
  /** An I/O buffer of guest pages; disk reads and writes use its pages directly. */
  allocBuffer(bytes: number): IoBuffer;
  /** Network: interfaces, UDP and ping sockets (blocking calls park the task). */
  readonly net: NetSys;
}

export function makeSys(kernel: Kernel, argv: readonly string[]): Sys {
  const { hv, console, time, sched, info } = kernel;
  return {
    argv,
    domid: info.domid,
    domain: info.name,
    print: (line) => console.printk(line),
    now: () => time.nowNs() / 1e6,
    sleep: (ms) => sched.sleep(ms),
    yield: () => sched.yield(),
    exit: (code) => {
      throw new AppExit(code);
    },
    listen: (peer) => listen(kernel, peer),
    connect: (peer, timeoutMs = 10_000) => connect(kernel, peer, timeoutMs),
    hypercall: hv.call,
    allocPages: (n) => kernel.mm.alloc(n, 'app'),
    memory: hv.dv,
    blk: {
      names: () => blockDeviceNames(kernel),
      open(name) {
        const q = blockDevice(kernel, name);
        if (!q)
          throw new Error(
            `no disk "${name}" (disks: ${blockDeviceNames(kernel).join(', ') || 'none'})`,
          );
        return new BlockHandle(kernel, q);
      },
    },
    allocBuffer: (bytes) => allocIoBuffer(kernel, bytes),
    net: netSys(kernel),
  };
}
