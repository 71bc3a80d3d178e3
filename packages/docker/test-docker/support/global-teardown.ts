import { IMAGE_ENV, removeImage } from './image';

/** Jest global teardown of the docker project: removes the image the setup built. */
export default function globalTeardown(): void {
  const tag = process.env[IMAGE_ENV];
  if (tag?.startsWith('flame-test/minimal:run-')) removeImage(tag);
}
