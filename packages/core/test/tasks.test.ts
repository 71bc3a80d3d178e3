import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { TaskNotFoundError } from '@flame-node/core';
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
    ['node:fs#readFileSync', /absolute paths and URLs|built-in/],
    ['fs/promises#readFile', /built-in module/],
    ['node_modules/pino/pino#default', /node_modules/],
    ['tasks/basic#not-an-export-name', /not a valid export name/],
    ['', /non-empty string/],
    ['#echo', /module path is empty/],
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
    const error = await pool.call('tasks/typed#run').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as Error).message).toMatch(/TypeScript.*taskRoot/);
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

  it('reports a module that fails to load, and keeps serving', async () => {
    const pool = testPool({ max: 1 });
    const error = (await pool.call('tasks/broken#x').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect(error.message).toMatch(/failed to load/);
    expect(await pool.call('tasks/basic#add', [1, 2])).toBe(3);
  });

  it('loads ES modules and CommonJS modules, named and default exports', async () => {
    const pool = testPool();
    expect(await pool.call('tasks/esm/hello.mjs#greet', ['ada'])).toBe('hello ada from esm');
    expect(await pool.call('tasks/esm/hello#greet', ['bob'])).toBe('hello bob from esm');
    expect(await pool.call('tasks/esm/hello')).toBe('esm default');
    expect(await pool.call('tasks/cjs-default', [7])).toBe('cjs default 7');
    expect(await pool.call('tasks/basic#add', [2, 2])).toBe(4);
  });
});
