import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { closePools, testPool } from './support/pools';

afterEach(closePools);

const here = __dirname;

/** Type-checks `source` as a file beside this test; returns the messages of its errors. */
function typeErrors(source: string): string[] {
  const file = path.join(here, '__typecheck__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    skipLibCheck: true,
    types: ['node'],
    baseUrl: path.join(here, '..', '..', '..'),
    paths: { '@flame-node/core': ['packages/core/src/index.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === file ? source : readFile(name));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);

  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName && path.resolve(d.file.fileName) === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const prelude = `
import { Pool } from '@flame-node/core';
const pool = new Pool({ name: 'typed' });
const tasks = pool.module<typeof import('./fixtures/tasks/types')>('tasks/types');
`;

describe('pool.module() types', () => {
  it('accepts calls that match the module, with promised, awaited results', () => {
    const errors = typeErrors(`${prelude}
      async function ok() {
        const r: { path: string; width: number } = await tasks.resize('/a.png', 200);
        const n: number = await tasks.count(['a', 'b']);
        return [r, n];
      }
      void ok;
    `);
    expect(errors).toEqual([]);
  }, 30_000);

  it('rejects a wrong argument, a wrong result type and a non-function export', () => {
    const errors = typeErrors(`${prelude}
      async function bad() {
        await tasks.resize('/a.png', 'wide');
        const s: string = await tasks.count(['a']);
        tasks.notAFunction;
        return s;
      }
      void bad;
    `);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/'string' is not assignable to parameter of type 'number'/);
    expect(errors[1]).toMatch(/'number' is not assignable to type 'string'/);
    expect(errors[2]).toMatch(/notAFunction/);
  }, 30_000);
});

describe('pool.module() at run time', () => {
  it('calls the exports on a runner', async () => {
    const pool = testPool({ taskRoot: path.join(here, 'fixtures') });
    const tasks = pool.module<{ add(a: number, b: number): number }>('tasks/basic');
    await expect(tasks.add(20, 22)).resolves.toBe(42);
  });

  it('is not mistaken for a promise or serialised into remote calls', async () => {
    const pool = testPool({ taskRoot: path.join(here, 'fixtures') });
    const tasks = pool.module('tasks/basic');
    expect(JSON.stringify(tasks)).toBe('{}');
    await expect(Promise.resolve(tasks)).resolves.toBe(tasks);
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });
});
