/**
 * Allocates `mib` MiB and writes to every page of it, so the memory is really used rather
 * than only reserved. In a runner with a lower memory limit, the kernel kills the process.
 */
export function hog(mib: number): { allocated: number } {
  const chunks: Buffer[] = [];
  for (let i = 0; i < mib; i++) chunks.push(Buffer.alloc(1024 * 1024, i % 255));
  return { allocated: chunks.length };
}
