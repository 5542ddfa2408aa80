import { defineConfig } from 'vitest/config';

// One run for the whole monorepo: the real services (Temporal, PostgreSQL, MLflow) are started
// once in the global setup and shared by every test file; each file isolates itself (its own
// database, task queue, model names).
export default defineConfig({
  test: {
    include: [
      // Tests live beside each package in test/, apart from the shipped src/.
      'packages/*/test/**/*.test.ts',
      'bridges/*/test/**/*.test.ts',
      'workflows/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'tests/**/*.test.ts',
      // Tools that record replay fixtures from real runs, not tests: only when asked for.
      ...(process.env.MLTRACE_RECORD_HISTORIES === '1' ? ['packages/*/test/**/*.recorder.ts'] : []),
    ],
    // MLTRACE_TEST_SERVICES=none runs the pure tests alone, without starting any server.
    globalSetup:
      process.env.MLTRACE_TEST_SERVICES === 'none' ? [] : ['packages/test-helpers/dist/global-setup.js'],
    // The JSON report is what .ci/run reads for its closing 'N passed, N failed' line.
    reporters: ['default', ['json', { outputFile: 'test-artifacts/vitest-results.json' }]],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
