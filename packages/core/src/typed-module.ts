/** The functions a module exports, by name. */
type ExportedFunctions<M> = {
  [K in keyof M as M[K] extends (...args: never[]) => unknown ? K : never]: M[K];
};

/**
 * A module's exported functions as remote calls: same parameters, results promised.
 * Made by `pool.module<typeof import('./tasks/thumbs')>('tasks/thumbs')`.
 */
export type RemoteModule<M> = {
  readonly [K in keyof ExportedFunctions<M>]: ExportedFunctions<M>[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};
