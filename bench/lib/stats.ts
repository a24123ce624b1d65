// Small statistics shared by every benchmark family.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Percentile by nearest rank, p in [0, 100]. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** ratio as DESIGN.md defines it: higher is always better. */
export function ratioOf(
  value: number,
  native: number | null,
  higherIsBetter: boolean,
): number | null {
  if (native === null || !Number.isFinite(native) || native === 0 || value === 0) return null;
  return higherIsBetter ? value / native : native / value;
}
