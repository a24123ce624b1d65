// Memory sizes as people write them: "64M", "512K", "1G", or a number of
// MiB (as xl's `memory = 64`). Returns bytes, or an error message.
import { MIN_GUEST_MEMORY, PAGE_SIZE } from '@pvkit/hypercall';

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
/** The largest guest memory a domain may have (one SharedArrayBuffer each). */
export const MAX_GUEST_MEMORY = 2 * 1024 ** 3;

export function parseMemorySize(v: unknown): number | string {
  let bytes: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v <= 0) return `must be a positive whole number of MiB, got ${v}`;
    bytes = v * UNITS.M;
  } else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*([KMG])(?:i?B)?\s*$/i.exec(v);
    if (!m) return `must look like "64M", "512K" or "1G", got ${JSON.stringify(v)}`;
    bytes = Number(m[1]) * UNITS[m[2].toUpperCase()];
  } else {
    return `must be a size such as "64M" (or a number of MiB), got ${typeof v}`;
  }
  if (bytes % PAGE_SIZE !== 0) return `must be a whole number of ${PAGE_SIZE}-byte pages`;
  if (bytes < MIN_GUEST_MEMORY) return `must be at least ${MIN_GUEST_MEMORY / 1024}K`;
  if (bytes > MAX_GUEST_MEMORY) return `must be at most ${MAX_GUEST_MEMORY / 1024 ** 3}G`;
  return bytes;
}

/** "64 MiB", "512 KiB": for banners and messages. */
export function formatSize(bytes: number): string {
  if (bytes % UNITS.G === 0) return `${bytes / UNITS.G} GiB`;
  if (bytes % UNITS.M === 0) return `${bytes / UNITS.M} MiB`;
  return `${bytes / UNITS.K} KiB`;
}
