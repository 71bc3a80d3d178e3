import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskNotFoundError } from './errors';
import { parseTaskName } from './task-name';

export type TaskFunction = (...args: unknown[]) => unknown;

// Extensions a task module may have. JSON and native addons are not tasks.
const EXTENSIONS = ['', '.js', '.cjs', '.mjs', '/index.js', '/index.cjs', '/index.mjs'];

/**
 * Finds and loads task functions inside one root directory, for the runner agent.
 * Modules load once and are cached; ESM and CommonJS both work.
 */
export class TaskLoader {
  readonly #root: string;
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();
  // Resolved functions by task name, so a warm call does no path work at all.
  readonly #functions = new Map<string, TaskFunction>();

  constructor(root: string) {
    try {
      this.#root = realpathSync(root);
    } catch {
      throw new TaskNotFoundError(root, `the task root ${root} does not exist`);
    }
  }

  get root(): string {
    return this.#root;
  }

  /** The function of a task loaded before, else undefined. */
  cached(task: string): TaskFunction | undefined {
    return this.#functions.get(task);
  }

  /**
   * Resolves `task` to its function, or throws a `TaskNotFoundError` naming what is missing.
   * A task found once is not looked up again: the file system is not read on a warm call.
   */
  async load(task: string): Promise<TaskFunction> {
    const known = this.#functions.get(task);
    if (known !== undefined) return known;
    const fn = await this.#load(task);
    this.#functions.set(task, fn);
    return fn;
  }

  async #load(task: string): Promise<TaskFunction> {
    const { module, exportName } = parseTaskName(task);
    const file = this.#resolve(task, module);

    let loading = this.#modules.get(file);
    if (loading === undefined) {
      loading = importFile(file);
      this.#modules.set(file, loading);
      // A module that failed to load (a syntax error, say) is retried on the next call.
      loading.catch(() => this.#modules.delete(file));
    }

    let exports: Record<string, unknown>;
    try {
      exports = await loading;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TaskNotFoundError(task, `module ${module} failed to load: ${reason}`);
    }
    return pickExport(task, module, exportName, exports);
  }

  #resolve(task: string, module: string): string {
    const base = path.resolve(this.#root, module);
    for (const extension of EXTENSIONS) {
      let real: string;
      try {
        real = realpathSync(base + extension);
      } catch {
        continue;
      }
      if (!isInside(this.#root, real)) {
        throw new TaskNotFoundError(
          task,
          `module ${module} resolves outside the task root (a symlink?) and is refused`,
        );
      }
      if (!/\.(c|m)?js$/.test(real)) continue;
      return real;
    }
    const source = ['.ts', '.mts', '.cts'].find((extension) => existsSync(base + extension));
    if (source !== undefined) {
      throw new TaskNotFoundError(
        task,
        `module ${module} is TypeScript (${module}${source}); tasks run from compiled JavaScript: ` +
          `set the pool's taskRoot to your build output (e.g. taskRoot: __dirname in dist/)`,
      );
    }
    throw new TaskNotFoundError(task, `module ${module} not found in ${this.#root}`);
  }
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative.length > 0 && !relative.startsWith('..') && !path.isAbsolute(relative);
}

const requireFrom = createRequire(__filename);

async function importFile(file: string): Promise<Record<string, unknown>> {
  if (!file.endsWith('.mjs')) {
    try {
      return requireFrom(file) as Record<string, unknown>;
    } catch (error) {
      // An ES module (by extension or "type": "module") cannot be required on Node 20.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
    }
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

function pickExport(
  task: string,
  module: string,
  exportName: string,
  exports: Record<string, unknown>,
): TaskFunction {
  let value = exports[exportName];
  // A CommonJS module that assigns a function to module.exports is its own default export.
  if (value === undefined && exportName === 'default' && typeof exports === 'function') {
    value = exports;
  }
  if (value === undefined) {
    throw new TaskNotFoundError(task, `module ${module} has no export named ${exportName}`);
  }
  if (typeof value !== 'function') {
    throw new TaskNotFoundError(task, `export ${exportName} of module ${module} is not a function`);
  }
  return value as TaskFunction;
}
