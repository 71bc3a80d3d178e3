import path from 'node:path';

/**
 * Absolute path of the built runner agent (`dist/runner.js` of @flame-node/core). Found
 * beside this file when running from dist, and through the package when running from the
 * TypeScript sources (tests), since runners always run the built agent.
 */
export function runnerScript(): string {
  if (path.basename(__dirname) === 'dist') return path.join(__dirname, 'runner.js');
  return path.join(__dirname, '..', 'dist', 'runner.js');
}
