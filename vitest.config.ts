import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Nix builds and 300 MiB uploads compete for 2 cores; run files two at a time.
    maxWorkers: 2,
    // Counts the API methods the suite called and fails the run on a call Google would refuse.
    globalSetup: ['./test/emulator/conformance/global-setup.ts'],
    // The second reporter writes test/reliability/README.md after a run that includes the whole suite.
    reporters: ['default', './test/reliability/report.ts'],
  },
});
