import { buildMinimalImage, IMAGE_ENV } from './image';

/**
 * Jest global setup of the docker project: builds the minimal app's image once for the run.
 * Test files find its tag in FLAME_TEST_MINIMAL_IMAGE; without this setup each file builds
 * its own. The teardown removes it.
 */
export default function globalSetup(): void {
  const tag = `flame-test/minimal:run-${process.pid}`;
  buildMinimalImage(tag);
  process.env[IMAGE_ENV] = tag;
}
