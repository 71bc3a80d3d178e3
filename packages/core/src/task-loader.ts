import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskLoadError, TaskNotFoundError } from './errors';
import { parseTaskName } from './task-name';
import { toWireError } from './wire-error';

export type TaskFunction = (...args: unknown[]) => unknown;

// Extensions a task module may have. JSON and native addons are not tasks.
const EXTENSIONS = ['', '.js', '.cjs', '.mjs', '/index.js', '/index.cjs', '/index.mjs'];

// TypeScript sources, each with the JavaScript extension it compiles to.
const TYPESCRIPT = new Map([
  ['.ts', '.js'],
  ['.cts', '.cjs'],
  ['.mts', '.mjs'],
]);

// How long `node --check` may take to place an ES module's syntax error (see importFile).
const CHECK_TIMEOUT = 5_000;

/**
 * Finds and loads task functions inside one root directory, for the runner agent.
 * Modules load once and are cached; ESM and CommonJS both work.
 */
export class TaskLoader {
  readonly #root: string;
  readonly #modules = new Map<string, Promise<unknown>>();
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
   * Resolves `task` to its function, or throws a `TaskNotFoundError` naming what is missing,
   * or a `TaskLoadError` carrying what its module threw while loading. A task found once is
   * not looked up again: the file system is not read on a warm call.
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

    let exports: unknown;
    try {
      exports = await loading;
    } catch (error) {
      // Deleted between resolving and loading: still a missing module, not a broken one.
      if (!existsSync(file)) {
        throw new TaskNotFoundError(task, `module ${module} not found in ${this.#root}`);
      }
      const { name, message, stack } = toWireError(error);
      throw new TaskLoadError(task, { name, message, stack }, { cause: error });
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

    const source = typeScriptSource(base);
    if (source !== undefined) {
      const relative = path.relative(this.#root, source);
      const shown = relative === module ? '' : ` (${relative})`;
      const extension = path.extname(module);
      // A name that spells out `.ts` would still miss once compiled: say what it becomes.
      const rename = TYPESCRIPT.has(extension)
        ? `, then call it as "${module.slice(0, -extension.length)}${task.slice(module.length)}"`
        : '';
      throw new TaskNotFoundError(
        task,
        `module ${module} is TypeScript source${shown}, which the runner does not run: ` +
          'compile it to JavaScript and point taskRoot at the compiled output ' +
          `(e.g. taskRoot: __dirname in a file of dist/)${rename}`,
      );
    }
    throw new TaskNotFoundError(task, `module ${module} not found in ${this.#root}`);
  }
}

// The TypeScript file `base` names, if no JavaScript was found for it: `base` itself
// (`tasks/thumbs.ts`), `base` plus an extension or `/index.ts`, or the source of the
// JavaScript file it names (`tasks/thumbs.js`, as TypeScript's own imports spell it).
function typeScriptSource(base: string): string | undefined {
  const candidates: string[] = [];
  const extension = path.extname(base);
  if (TYPESCRIPT.has(extension)) candidates.push(base);
  for (const [source, compiled] of TYPESCRIPT) {
    candidates.push(base + source, `${base}/index${source}`);
    if (extension === compiled) candidates.push(base.slice(0, -compiled.length) + source);
  }
  return candidates.find((candidate) => existsSync(candidate));
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative.length > 0 && !relative.startsWith('..') && !path.isAbsolute(relative);
}

const requireFrom = createRequire(__filename);

async function importFile(file: string): Promise<unknown> {
  if (!file.endsWith('.mjs')) {
    try {
      return requireFrom(file) as unknown;
    } catch (error) {
      // An ES module (by extension or "type": "module") cannot be required on Node 20.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
    }
  }
  try {
    return (await import(pathToFileURL(file).href)) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) await placeSyntaxError(error, file);
    throw error;
  }
}

// require() puts the file and line of a syntax error, with the line's text, above the
// error's stack; import() does not (Node 20), and what is left names only Node's loader.
// `node --check` prints that same header for the file. It runs only when the module failed
// to load, once per attempt; a dependency's syntax error passes the check and stays unplaced.
async function placeSyntaxError(error: SyntaxError, file: string): Promise<void> {
  if (error.stack === undefined || !error.stack.startsWith('SyntaxError')) return;
  // Loaded here, not at the top: every runner's cold start would pay for it.
  const { execFile } = await import('node:child_process');
  const stderr = await new Promise<string>((resolve) => {
    execFile(process.execPath, ['--check', file], { timeout: CHECK_TIMEOUT }, (_, __, text) =>
      resolve(String(text)),
    );
  });

  const end = stderr.indexOf('\n\nSyntaxError');
  if (end > 0 && stderr.startsWith(`${file}:`)) {
    error.stack = `${stderr.slice(0, end)}\n\n${error.stack}`;
  }
}

function pickExport(
  task: string,
  module: string,
  exportName: string,
  exports: unknown,
): TaskFunction {
  // Only the module's own exports are tasks: what every object inherits (`constructor`,
  // `toString`, `hasOwnProperty`, a function's `call`) must not be callable by name. An ES
  // module's namespace has a null prototype, so its own properties are exactly its exports.
  const own =
    exports !== null &&
    (typeof exports === 'object' || typeof exports === 'function') &&
    Object.hasOwn(exports, exportName);
  let value = own ? (exports as Record<string, unknown>)[exportName] : undefined;
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
