import type { Config } from 'jest';

// Two projects: `unit` needs nothing but Node (npm test); `docker` drives a real engine and
// real containers (npm run test:docker). Both run the TypeScript sources through ts-jest,
// while runners are always the built agent (packages/core/dist/runner.js) in real processes.
// The root tsconfig sets isolatedModules, so ts-jest transpiles each file on its own (fast);
// type checking is tsc's job (npm run build, and the typecheck test).
const tsJest: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
};

const config: Config = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: tsJest,
      moduleNameMapper: {
        '^@flame-node/core$': '<rootDir>/packages/core/src/index.ts',
        '^@flame-node/docker$': '<rootDir>/packages/docker/src/index.ts',
      },
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts'],
    },
    {
      displayName: 'docker',
      testEnvironment: 'node',
      transform: tsJest,
      moduleNameMapper: {
        '^@flame-node/core$': '<rootDir>/packages/core/src/index.ts',
        '^@flame-node/docker$': '<rootDir>/packages/docker/src/index.ts',
      },
      testMatch: ['<rootDir>/packages/*/test-docker/**/*.test.ts', '<rootDir>/test-apps/*/test/**/*.test.ts'],
      // Builds the minimal app's image once per run, and removes it at the end.
      globalSetup: '<rootDir>/packages/docker/test-docker/support/global-setup.ts',
      globalTeardown: '<rootDir>/packages/docker/test-docker/support/global-teardown.ts',
    },
  ],
};

export default config;
