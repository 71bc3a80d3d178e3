import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { FlameError, TaskLoadError, TaskNotFoundError } from '@flame-node/core';
import { closePools, testPool } from './support/pools';

afterEach(closePools);

describe('task names that are refused before anything is loaded', () => {
  it.each([
    ['../x#y', /escapes the task root/],
    ['tasks/../../x#y', /escapes the task root/],
    ['/etc/passwd#y', /absolute paths/],
    ['C:\\\\win#y', /absolute paths/],
    ['file:///etc/passwd#y', /absolute paths and URLs/],
    ['child_process#execSync', /built-in module/],
    ['node:child_process#execSync', /"node:child_process" names a Node.js built-in module/],
    ['node:fs#readFileSync', /built-in module/],
    ['fs/promises#readFile', /built-in module/],
    ['node_modules/pino/pino#default', /node_modules/],
    ['tasks/basic#not-an-export-name', /not a valid export name/],
    ['', /non-empty string/],
    ['#echo', /module path is empty/],
    ['.#x', /"\." is the task root itself and names no module/],
    ['./#x', /"\.\/" is the task root itself and names no module/],
    ['.\\#x', /task root itself and names no module/],
  ])('%s', async (task, message) => {
    const pool = testPool();
    const error = await pool.call(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as Error).message).toMatch(message);
    // Refused in the parent: no runner was even started.
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });
});

describe('task resolution on the runner', () => {
  let root: string;
  let outside: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'flame-root-'));
    outside = mkdtempSync(path.join(tmpdir(), 'flame-outside-'));
    writeFileSync(path.join(outside, 'evil.js'), 'exports.run = () => "escaped";');
    mkdirSync(path.join(root, 'tasks'));
    writeFileSync(path.join(root, 'tasks', 'ok.js'), 'exports.run = () => "inside";');
    symlinkSync(path.join(outside, 'evil.js'), path.join(root, 'tasks', 'link.js'));
    symlinkSync(outside, path.join(root, 'linkdir'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('refuses a symlink that points out of the root, file or directory', async () => {
    const pool = testPool({ taskRoot: root });
    expect(await pool.call('tasks/ok#run')).toBe('inside');
    for (const task of ['tasks/link#run', 'linkdir/evil#run']) {
      const error = await pool.call(task).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskNotFoundError);
      expect((error as Error).message).toMatch(/outside the task root/);
    }
  });

  it('runs modules under folders named like Node built-ins (util/, http/)', async () => {
    mkdirSync(path.join(root, 'util'));
    writeFileSync(path.join(root, 'util', 'helpers.js'), 'exports.slug = (s) => s.toLowerCase();');
    const pool = testPool({ taskRoot: root });
    expect(await pool.call('util/helpers#slug', ['HeLLo'])).toBe('hello');
  });

  it('says when a task is TypeScript source that was not compiled', async () => {
    writeFileSync(path.join(root, 'tasks', 'typed.ts'), 'export const run = () => 1;');
    const pool = testPool({ taskRoot: root });
    // Named without extension, with .ts, and with .js as TypeScript's own imports spell it.
    for (const task of ['tasks/typed#run', 'tasks/typed.ts#run', 'tasks/typed.js#run']) {
      const error = await pool.call(task).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskNotFoundError);
      expect((error as Error).message).toMatch(
        /TypeScript source.*runner does not run.*compile it to JavaScript.*taskRoot/,
      );
      expect((error as Error).message).not.toMatch(/not found/);
    }
    const named = (await pool.call('tasks/typed.ts#run').catch((e: unknown) => e)) as Error;
    expect(named.message).toMatch(/call it as "tasks\/typed#run"/);
  });

  it('names no module for a folder path that resolves to the root itself', async () => {
    const pool = testPool({ taskRoot: root });
    const error = await pool.call('tasks/.#run').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as Error).message).toMatch(/not found/);
  });

  it('names the module when it is missing', async () => {
    const pool = testPool();
    const error = await pool.call('tasks/nothing-here#run').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as Error).message).toMatch(/tasks\/nothing-here/);
    expect((error as Error).message).toMatch(/not found/);
  });

  it('names the module and the export when the export is missing or not a function', async () => {
    const pool = testPool();
    const missing = (await pool.call('tasks/basic#nope').catch((e: unknown) => e)) as Error;
    expect(missing).toBeInstanceOf(TaskNotFoundError);
    expect(missing.message).toMatch(/tasks\/basic.*no export named nope/);
    const notFn = (await pool.call('tasks/basic#notAFunction').catch((e: unknown) => e)) as Error;
    expect(notFn.message).toMatch(/notAFunction.*tasks\/basic.*not a function/);
  });

  it('loads ES modules and CommonJS modules, named and default exports', async () => {
    const pool = testPool();
    expect(await pool.call('tasks/esm/hello.mjs#greet', ['ada'])).toBe('hello ada from esm');
    expect(await pool.call('tasks/esm/hello#greet', ['bob'])).toBe('hello bob from esm');
    expect(await pool.call('tasks/esm/hello')).toBe('esm default');
    expect(await pool.call('tasks/cjs-default', [7])).toBe('cjs default 7');
    expect(await pool.call('tasks/basic#add', [2, 2])).toBe(4);
  });

  it('calls only a module\'s own exports, not what every object inherits', async () => {
    const pool = testPool({ max: 1 });
    const inherited = [
      'tasks/basic#constructor',
      'tasks/basic#toString',
      'tasks/basic#hasOwnProperty',
      'tasks/basic#__proto__',
      'tasks/basic#__defineGetter__',
      'tasks/cjs-default#call',
      'tasks/cjs-default#bind',
      'tasks/cjs-default#constructor',
      'tasks/esm/hello.mjs#toString',
      'tasks/esm/hello.mjs#constructor',
    ];
    for (const task of inherited) {
      const error = (await pool.call(task, ['arg']).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(TaskNotFoundError);
      expect(error.message).toMatch(/no export named/);
    }
    // What is its own still runs, on the same runner.
    expect(await pool.call('tasks/cjs-default', [1])).toBe('cjs default 1');
    expect(await pool.call('tasks/esm/hello.mjs')).toBe('esm default');
  });
});

describe('a task module that fails to load', () => {
  const fixture = (file: string) => new RegExp(`fixtures[\\\\/]tasks[\\\\/]${file}`);

  async function loadError(task: string): Promise<TaskLoadError> {
    const pool = testPool({ max: 1 });
    const error = await pool.call(task).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskLoadError);
    expect(error).toBeInstanceOf(FlameError);
    expect(error).not.toBeInstanceOf(TaskNotFoundError);
    const load = error as TaskLoadError;
    expect(load.code).toBe('FLAME_ERR_TASK_LOAD');
    expect(load.task).toBe(task);
    expect(load.stack).toContain(load.moduleError.stack!);
    return load;
  }

  it('carries a CommonJS syntax error with its file and line', async () => {
    const error = await loadError('tasks/syntax-error#run');
    expect(error.moduleError.name).toBe('SyntaxError');
    expect(error.moduleError.stack).toMatch(fixture('syntax-error\\.js:5\n'));
    expect(error.message).toMatch(/failed to load at .*syntax-error\.js:5: SyntaxError: /);
  });

  it('carries an ES module syntax error with its file and line, which import() leaves out', async () => {
    const error = await loadError('tasks/esm/syntax-error#run');
    expect(error.moduleError.name).toBe('SyntaxError');
    expect(error.moduleError.stack).toMatch(fixture('esm[\\\\/]syntax-error\\.mjs:5\n'));
    expect(error.message).toMatch(/failed to load at .*syntax-error\.mjs:5: SyntaxError: /);
  });

  it('carries what the module threw at its top level', async () => {
    const error = await loadError('tasks/throws-on-load#run');
    expect(error.moduleError).toMatchObject({ name: 'RangeError', message: 'THUMBS_DIR is not set' });
    expect(error.moduleError.stack).toMatch(fixture('throws-on-load\\.js:4:7'));
    expect(error.message).toMatch(
      /failed to load at .*throws-on-load\.js:4:7: RangeError: THUMBS_DIR is not set$/,
    );
  });

  it('carries a missing dependency of the module, which is not a missing task', async () => {
    const error = await loadError('tasks/missing-dependency#run');
    expect(error.moduleError.message).toMatch(/Cannot find module '\.\/no-such-helper'/);
    expect(error.message).toMatch(/failed to load at .*missing-dependency\.js:2:\d+: Error: Cannot find/);
  });

  it('is retried on the next call, and the runner keeps serving', async () => {
    const pool = testPool({ max: 1 });
    const first = await pool.call('tasks/broken#x').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TaskLoadError);
    expect((first as Error).message).toMatch(/broken\.js:1/);
    expect(await pool.call('tasks/basic#add', [1, 2])).toBe(3);
    const again = await pool.call('tasks/broken#x').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(TaskLoadError);
  });

});
