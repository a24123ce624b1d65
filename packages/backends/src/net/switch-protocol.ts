// What the toolstack and a switch worker say to each other. Control only
// (a NIC plugged in or out, stop): frames never travel by message.
import { fileURLToPath } from 'node:url';
import type { NetPortData } from './port.ts';

export interface SwitchWorkerData {
  /** The switch's name ("lan0"), for logs. */
  name: string;
  /** µs of polling after the last frame before the switch sleeps (default 50). */
  spinUs?: number;
  /** MAC table ageing (default 300 s) and sweep period (default 5 s). */
  ageingMs?: number;
  sweepMs?: number;
}

export type ToSwitch =
  /** Plug a NIC in: `data` is its domain's memory, control block, counters, doorbells (queue 0's). */
  | { t: 'add'; id: number; name: string; data: NetPortData }
  /** Unplug it: the switch forgets its MACs and lets go of its memory before answering. */
  | { t: 'remove'; id: number }
  | { t: 'stop' };

export type FromSwitch =
  | { t: 'added'; id: number }
  | { t: 'removed'; id: number }
  | { t: 'error'; id: number; message: string }
  | { t: 'log'; line: string };

/** The switch worker's entry module (computed on call, like the blk worker's). */
export function switchWorkerEntry(): string {
  return fileURLToPath(new URL('./switch-worker.ts', import.meta.url));
}

/** The dgram/stream worker's entry module. */
export function wireWorkerEntry(): string {
  return fileURLToPath(new URL('./wire-worker.ts', import.meta.url));
}
