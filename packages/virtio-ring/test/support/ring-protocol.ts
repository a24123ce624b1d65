// What the cross-thread test and its two workers share.
import type { WasmMemory } from '../../src/index.ts';

export interface SideConfig {
  role: 'driver' | 'device';
  mode: 'poll' | 'sleep';
  count: number;
  mem: SharedArrayBuffer | WasmMemory;
  ctl: SharedArrayBuffer;
  queue: { size: number; desc: number; avail: number; used: number };
  indirect: { addr: number; maxEntries: number } | null;
  dataBase: number;
  slots: number;
  deadlineMs: number;
}

export interface SideResult {
  chains: number;
  seqSum: number;
  sleeps: number;
  notifications: number;
}

export const REQ = 32;
export const RESP = 16;
export const CTL_READY = 0;
/** Never written: an idle poller sleeps on it for a few microseconds. */
export const CTL_IDLE = 8;
export const CTL_KICK = 32;
export const CTL_IRQ = 64;
export const CTL_WORDS = 96;
