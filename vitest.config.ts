import { defineConfig } from 'vitest/config';

// One run covers every package's tests plus the cross-package tests in test/.
// Tests that start threads pass their own finite timeouts; this default stops
// anything else that hangs (a stuck Atomics.wait must fail, never hang CI).
export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'fuzz/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
