import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * The container suite (test/containers: a Kafka started by testcontainers, tangent's
 * image, the compose stack) runs only when asked: `npm test` asks with
 * TANGENT_CONTAINER_TESTS=auto (skipped, saying why, without a runtime), CI with
 * `required`. A plain `vitest run` keeps to unit + integration on the local broker.
 */
const containers: TestProjectInlineConfiguration[] = process.env.TANGENT_CONTAINER_TESTS
  ? [
      {
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          globalSetup: ['test/containers/global-setup.ts'],
          fileParallelism: false,
          // After unit + integration: image builds and the stack need the cores to themselves.
          sequence: { groupOrder: 1 },
          testTimeout: 1_200_000,
          hookTimeout: 1_200_000,
        },
      },
    ]
  : [];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          // One real broker is shared: integration files run one at a time.
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      ...containers,
    ],
  },
});
