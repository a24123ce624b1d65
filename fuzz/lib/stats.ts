// Coverage counters: what the iterations actually reached (chains accepted,
// refused by kind, queues broken, ...). A fuzzer that never reaches a path
// tests nothing there; `pnpm fuzz --stats` shows the spread.
const counts = new Map<string, number>();

export function count(name: string, by = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + by);
}

/** The counters since the last call, sorted by name; resets them. */
export function takeStats(): [string, number][] {
  const out = [...counts].sort((a, b) => a[0].localeCompare(b[0]));
  counts.clear();
  return out;
}
