// A driver half and a device half on one queue in fresh guest memory.
import {
  DeviceQueue,
  DriverQueue,
  GuestMemory,
  layoutSplitQueue,
  type QueueAddresses,
} from '../../src/index.ts';

export interface PairOptions {
  size: number;
  eventIdx?: boolean;
  indirect?: boolean;
  /** Indirect table entries per head (default min(size, 8)). */
  indirectEntries?: number;
  memBytes?: number;
  /** 'wasm': a shared WebAssembly.Memory (WebAssembly atomics); default a SharedArrayBuffer. */
  memory?: 'sab' | 'wasm';
}

export interface Pair {
  mem: GuestMemory;
  queue: QueueAddresses;
  driver: DriverQueue<number>;
  device: DeviceQueue;
  /** First byte free for data buffers. */
  dataBase: number;
}

export function makePair(o: PairOptions): Pair {
  const queue = layoutSplitQueue(0x1000, o.size);
  const entries = o.indirectEntries ?? Math.min(o.size, 8);
  const indirectAddr = Math.ceil(queue.end / 16) * 16;
  const dataBase = Math.ceil((indirectAddr + o.size * entries * 16) / 4096) * 4096;
  const bytes = o.memBytes ?? dataBase + (1 << 20);
  const mem = GuestMemory.allocate(bytes, o.memory === 'wasm' ? 'auto' : 'sab');
  const driver = new DriverQueue<number>(mem, queue, {
    eventIdx: o.eventIdx,
    indirect: o.indirect ? { addr: indirectAddr, maxEntries: entries } : undefined,
  });
  const device = new DeviceQueue(mem, queue, { eventIdx: o.eventIdx, indirect: o.indirect });
  return { mem, queue, driver, device, dataBase };
}
