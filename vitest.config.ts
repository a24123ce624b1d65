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
    setupFiles: ['test/support/setup.ts'],
    pool: 'forks',
    // One test file at a time: many files start guest, service and backend
    // threads that spin before they sleep, and this machine has 2 cores. Two
    // such files side by side starve each other's spinners (flaky timeouts);
    // one at a time costs some wall time and no flakes.
    fileParallelism: false,
    maxWorkers: 1,
  },
});
