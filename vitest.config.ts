import { defineConfig } from 'vitest/config'

// Unit tests run anywhere. Tests that use WebRTC or spawn relay-node processes are
// "integration" tests: scripts/test.sh runs them inside the network namespace that
// scripts/netns.sh makes (see docs/testing.md).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages/*,signalling,relay-node,examples/*}/test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
          testTimeout: 20_000
        }
      },
      {
        test: {
          name: 'integration',
          include: ['{packages/*,signalling,relay-node,examples/*}/test/**/*.integration.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false
        }
      }
    ]
  }
})
