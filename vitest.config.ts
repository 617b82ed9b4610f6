import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bpf/**/*.test.ts', 'infra/aws/**/*.test.ts', 'infra/k8s/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // BPF captures and kernel state (tmpfs, cgroups) are machine-wide: run test files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
