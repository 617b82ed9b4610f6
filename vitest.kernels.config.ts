import { defineConfig } from 'vitest/config';

/**
 * The kernel matrix's suite (npm run test:kernels runs it in each guest and on the host): the tests that need what
 * a stock kernel has and the development host may not — `*.kernel.test.ts`, beside the tools they test, and the
 * end-to-end investigations in test/kernels/. Under software emulation node runs 14–20× slower and each bpftrace
 * program takes 11–21 s to start, hence the long timeouts.
 */
export default defineConfig({
  test: {
    include: ['bpf/**/*.kernel.test.ts', 'test/kernels/**/*.kernel.test.ts'],
    // Redis and S3 for the end-to-end investigations, inside the guest on loopback (as npm test has them).
    globalSetup: ['test/helpers/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
