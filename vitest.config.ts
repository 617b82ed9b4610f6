import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bpf/**/*.test.ts', 'infra/aws/**/*.test.ts', 'infra/k8s/**/*.test.ts'],
    // The kernel matrix's suite runs apart, in guests on stock kernels and on this host (vitest.kernels.config.ts).
    exclude: ['**/node_modules/**', '**/*.kernel.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // BPF captures and kernel state (tmpfs, cgroups) are machine-wide: run test files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
