import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { docker, REPO } from './docker';

/** Set by the global setup when it built the image once for the whole run. */
export const IMAGE_ENV = 'FLAME_TEST_MINIMAL_IMAGE';

/**
 * Builds the minimal app (tsc) and its image with docker/build-app-image.sh, as tag `tag`.
 * Takes a few seconds: the context is the built packages plus production node_modules.
 */
export function buildMinimalImage(tag: string): void {
  const options = { cwd: REPO, stdio: 'pipe' as const, encoding: 'utf8' as const };
  execFileSync('npm', ['run', 'build', '--silent', '-w', 'test-apps/minimal'], options);
  execFileSync(path.join(REPO, 'docker/build-app-image.sh'), ['test-apps/minimal', tag], options);
}

/** Removes an image this run built; one that is gone already is fine. */
export function removeImage(tag: string): void {
  try {
    docker('rmi', '-f', tag);
  } catch {
    // Already gone.
  }
}

/** An image a test file uses, and whether the file itself has to build and remove it. */
export interface TestImage {
  readonly tag: string;
  /** Builds it, unless the global setup did. */
  prepare(): void;
  /** Removes it, unless the global setup built it (its teardown removes it then). */
  dispose(): void;
}

/**
 * The minimal app's image for one test file: the one the global setup built for the whole
 * run, or else `tag`, built by `prepare()` and removed by `dispose()`.
 */
export function minimalImage(tag: string): TestImage {
  const shared = process.env[IMAGE_ENV];
  const nothing = (): void => undefined;
  if (shared !== undefined) return { tag: shared, prepare: nothing, dispose: nothing };
  return { tag, prepare: () => buildMinimalImage(tag), dispose: () => removeImage(tag) };
}
