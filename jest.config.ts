import type { Config } from 'jest';

// Two projects: `unit` needs nothing but Node (npm test); `docker` drives a real engine and
// real containers (npm run test:docker). Both run the TypeScript sources through ts-jest,
// while runners are always the built agent (packages/core/dist/runner.js) in real processes.
const tsJest = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', isolatedModules: true }],
} as const;

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
    },
  ],
};

export default config;
