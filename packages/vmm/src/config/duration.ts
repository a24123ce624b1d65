// Durations as people write them: "10s", "500ms", "2m", or a number of
// seconds. Returns milliseconds, or an error message.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

export function parseDuration(v: unknown): number | string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0) return `must be a positive number of seconds, got ${v}`;
    return v * 1000;
  }
  if (typeof v !== 'string') return `must be a duration such as "10s", got ${typeof v}`;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/i.exec(v);
  if (!m) return `must look like "10s", "500ms" or "2m", got ${JSON.stringify(v)}`;
  const ms = Number(m[1]) * UNITS[m[2].toLowerCase()];
  return ms > 0 ? ms : `must be longer than 0, got ${JSON.stringify(v)}`;
}

/** "10 s", "500 ms", "2 min", "24 h". */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)} s`;
  return `${+ms.toFixed(1)} ms`;
}
