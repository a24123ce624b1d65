// The shape of benchmark results: one document per family, as DESIGN.md
// "Benchmark output" fixes it. Case ids are an interface: never rename one.

export interface BenchOptions {
  /** Short runs for CI smoke; long enough for a stable median otherwise. */
  quick: boolean;
  /** How many times each case runs; the reported value is the median. */
  runs: number;
  /** Progress for a human (stderr); never data. */
  log: (line: string) => void;
}

export interface BenchCase {
  case: string;
  value: number;
  unit: string;
  /** The floor measured in the same run, or null with the reason in nativeName. */
  native: number | null;
  nativeName: string;
  /** value/native for throughputs, native/value for latencies: higher is better. */
  ratio: number | null;
  params: Record<string, unknown>;
  /** Every run's value, so readers can judge the noise. */
  samples?: number[];
  nativeSamples?: number[];
  /** Extra figures (kicks per request, ...). */
  extra?: Record<string, number | string>;
}

export interface BenchDocument {
  bench: string;
  node: string;
  cpus: number;
  cases: BenchCase[];
}

export type BenchFamily = (opts: BenchOptions) => Promise<BenchCase[]>;
