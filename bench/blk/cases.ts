// The blk benchmark cases (ids are an interface: DESIGN.md "Benchmark
// output") and the arithmetic both sides share, so the guest's blkbench and
// the host-native floor are measured and reported the same way.

export type BlkPattern = 'seq' | 'rand';
export type BlkRw = 'read' | 'write';

export interface BlkCaseSpec {
  id: string;
  pattern: BlkPattern;
  rw: BlkRw;
  /** Block size, bytes. */
  bs: number;
  /** Requests in flight. */
  qd: number;
  unit: 'MB/s' | 'IOPS';
}

export const BLK_CASES: readonly BlkCaseSpec[] = [
  { id: 'seq-read-128k-qd8', pattern: 'seq', rw: 'read', bs: 128 * 1024, qd: 8, unit: 'MB/s' },
  { id: 'seq-write-128k-qd8', pattern: 'seq', rw: 'write', bs: 128 * 1024, qd: 8, unit: 'MB/s' },
  { id: 'rand-read-4k-qd32', pattern: 'rand', rw: 'read', bs: 4096, qd: 32, unit: 'IOPS' },
  { id: 'rand-write-4k-qd32', pattern: 'rand', rw: 'write', bs: 4096, qd: 32, unit: 'IOPS' },
];

export function blkCase(id: string): BlkCaseSpec {
  const c = BLK_CASES.find((x) => x.id === id);
  if (!c)
    throw new Error(`unknown blk case "${id}"; known: ${BLK_CASES.map((x) => x.id).join(', ')}`);
  return c;
}

/** MB/s is 10^6 bytes per second (as fio's "MB/s"); IOPS is completed requests per second. */
export function blkFigure(spec: BlkCaseSpec, bytes: number, ops: number, seconds: number): number {
  return spec.unit === 'MB/s' ? bytes / 1e6 / seconds : ops / seconds;
}

/** File size and time per run: the 1 GiB file, or a small one for CI smoke. */
export function blkBenchSizes(quick: boolean): { fileBytes: number; durationMs: number } {
  return quick
    ? { fileBytes: 64 * 1024 * 1024, durationMs: 300 }
    : { fileBytes: 1024 * 1024 * 1024, durationMs: 2000 };
}
