import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Pool, SerializationError } from '@flame-node/core';
import { RecordingBackend } from './support/attacker';
import { TASK_ROOT, type WhoAmI } from './support/pools';

/*
 * Values go to a real runner as call arguments and come back as its result: the `echo`
 * fixture returns its arguments, so whatever arrives equal went both ways intact.
 */

let pool: Pool;

beforeAll(() => {
  pool = new Pool({ name: 'values', max: 1, logger: false, taskRoot: TASK_ROOT });
});

afterAll(async () => {
  await pool.close();
});

afterEach(() => {
  // No test leaves a call running on the shared pool.
  expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
});

async function echo<T>(value: T): Promise<T> {
  const [back] = await pool.call<[T]>('tasks/basic#echo', [value]);
  return back;
}

describe('values round-trip exactly through a runner', () => {
  it('keeps Maps as Maps, with non-string keys, in order, nested', async () => {
    const inner = new Map<unknown, unknown>([[2n, new Set(['x', 1])], [null, undefined]]);
    const map = new Map<unknown, unknown>([
      [1, 'number key'],
      ['1', 'string key'],
      [true, 'boolean key'],
      [undefined, 'undefined key'],
      [{ compound: [1, 2] }, inner],
      [new Date(86_400_000), 'date key'],
      [[1, 2], 'array key'],
    ]);

    const back = await echo(map);

    expect(back).toBeInstanceOf(Map);
    expect(back).toStrictEqual(map);
    expect([...back.keys()].map((key) => typeof key)).toEqual([
      'number', 'string', 'boolean', 'undefined', 'object', 'object', 'object',
    ]);
    expect(back.get(1)).toBe('number key');
    expect(back.get('1')).toBe('string key');
    expect([...back.values()][4]).toBeInstanceOf(Map);
    // An empty Map is a Map, not an empty object.
    expect(await echo(new Map())).toBeInstanceOf(Map);
    expect(await echo({})).toStrictEqual({});
  });

  it('keeps Sets as Sets, nested and with mixed members', async () => {
    const set = new Set<unknown>([1, '1', 1n, null, undefined, new Set([new Map([[1, 2]])])]);
    const back = await echo(set);

    expect(back).toBeInstanceOf(Set);
    expect(back).toStrictEqual(set);
    expect(await echo(new Set())).toStrictEqual(new Set());
  });

  it('keeps Dates to the millisecond, before 1970, at the far edge, and invalid', async () => {
    const dates = [
      new Date(0),
      new Date('2024-02-29T23:59:59.999Z'),
      new Date(-1),
      new Date(-8.64e15),
      new Date(8.64e15),
    ];
    const back = await echo(dates);

    expect(back.every((date) => date instanceof Date)).toBe(true);
    expect(back.map((date) => date.getTime())).toEqual(dates.map((date) => date.getTime()));
    const invalid = await echo(new Date(Number.NaN));
    expect(invalid).toBeInstanceOf(Date);
    expect(Number.isNaN(invalid.getTime())).toBe(true);
  });

  it('keeps BigInts at the signed and unsigned 64-bit edges, and numbers as numbers', async () => {
    const bigints = [-(2n ** 63n), -1n, 0n, 5n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
    const numbers = [0, -1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1, 1e308];

    const back = await echo({ bigints, numbers });

    expect(back.bigints).toStrictEqual(bigints);
    expect(back.bigints.every((value) => typeof value === 'bigint')).toBe(true);
    expect(back.numbers).toStrictEqual(numbers);
    expect(back.numbers.every((value) => typeof value === 'number')).toBe(true);
    expect(await echo([Number.NaN, Infinity, -Infinity])).toStrictEqual([Number.NaN, Infinity, -Infinity]);
  });

  it('tells undefined from null, in objects and in arrays', async () => {
    const value = {
      u: undefined,
      n: null,
      list: [undefined, null, undefined],
      nested: { u: undefined, n: null },
    };
    const back = await echo(value);

    expect(back).toStrictEqual(value);
    expect('u' in back).toBe(true);
    expect(back.u).toBeUndefined();
    expect(back.n).toBeNull();
    expect(back.list).toHaveLength(3);
    expect(back.list[0]).toBeUndefined();
    expect(back.list[1]).toBeNull();
    const bare = await pool.call<unknown[]>('tasks/basic#echo', [undefined, null]);
    expect(bare).toHaveLength(2);
    expect(bare[0]).toBeUndefined();
    expect(bare[1]).toBeNull();
  });

  it('keeps Buffer, Uint8Array and every typed array apart, contents intact, at odd offsets', async () => {
    const memory = new ArrayBuffer(256);
    new Uint8Array(memory).forEach((_, i, bytes) => (bytes[i] = (i * 37 + 11) & 0xff));
    const arrays: NodeJS.TypedArray[] = [
      Buffer.from('a Buffer, sliced at an odd offset').subarray(3),
      new Uint8Array(memory, 3, 7),
      new Int8Array(memory, 5, 9),
      new Uint8ClampedArray(memory, 7, 3),
      new Int16Array(memory, 2, 5),
      new Uint16Array(memory, 6, 5),
      new Int32Array(memory, 12, 3),
      new Uint32Array(memory, 4, 3),
      new Float32Array([1.5, -0.25, Number.NaN, Infinity]),
      new Float64Array(memory, 8, 4),
      new BigInt64Array([-(2n ** 63n), -1n, 2n ** 63n - 1n]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
      new Uint8Array(0),
      Buffer.alloc(0),
      Buffer.alloc(70_000, 9),
    ];

    const back = await echo(arrays);

    expect(back).toHaveLength(arrays.length);
    back.forEach((array, i) => {
      const sent = arrays[i]!;
      expect(Object.getPrototypeOf(array)).toBe(Object.getPrototypeOf(sent));
      expect(Buffer.isBuffer(array)).toBe(Buffer.isBuffer(sent));
      expect(array.length).toBe(sent.length);
      const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
      expect(bytes.equals(Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength))).toBe(true);
    });
  });

  it('sends a subclass of a typed array as its base class, and the runner keeps serving', async () => {
    class Samples extends Int16Array {}
    const before = await pool.call<WhoAmI>('tasks/basic#whoami');

    const back = await echo(new Samples([1, -2, 300]));

    expect(Object.getPrototypeOf(back)).toBe(Int16Array.prototype);
    expect(Array.from(back)).toEqual([1, -2, 300]);
    expect((await pool.call<WhoAmI>('tasks/basic#whoami')).pid).toBe(before.pid);
  });

  it('carries an object with 100 000 keys', async () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) wide[`key${i}`] = i;

    const back = await echo(wide);

    expect(Object.keys(back)).toHaveLength(100_000);
    expect(back.key0).toBe(0);
    expect(back.key99999).toBe(99_999);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    // Same keys, same order, same values (jest's deep equality is slow at this width).
    expect(JSON.stringify(back)).toBe(JSON.stringify(wide));
  });

  it('carries values nested 200 levels deep, through objects, arrays and Maps', async () => {
    type Level = { depth: number; next: unknown };
    let deep: unknown = 'bottom';
    for (let depth = 200; depth > 0; depth--) {
      const level: Level = { depth, next: deep };
      deep = depth % 3 === 0 ? [level] : depth % 3 === 1 ? level : new Map([['next', level]]);
    }

    const back = await echo(deep);

    expect(back).toStrictEqual(deep);
    let levels = 0;
    let at: unknown = back;
    while (at !== 'bottom') {
      if (at instanceof Map) at = at.get('next');
      else if (Array.isArray(at)) at = at[0];
      else {
        at = (at as Level).next;
        levels++;
      }
    }
    expect(levels).toBe(200);
  });

  it('carries Errors (name, message, stack, code), RegExps and Map subclasses', async () => {
    const error = Object.assign(new RangeError('out of range'), { code: 'E_RANGE' });
    class Registry extends Map<string, number> {}
    const [backError, pattern, registry] = await pool.call<[Error & { code?: string }, RegExp, Map<string, number>]>(
      'tasks/basic#echo',
      [error, /fl(a)me+/giu, new Registry([['a', 1]])],
    );

    expect(backError).toBeInstanceOf(Error);
    expect(backError.name).toBe('RangeError');
    expect(backError.message).toBe('out of range');
    expect(backError.code).toBe('E_RANGE');
    expect(backError.stack).toBe(error.stack);
    expect(pattern).toStrictEqual(/fl(a)me+/giu);
    expect(registry).toStrictEqual(new Map([['a', 1]]));
  });

  it('rebuilds each built-in Error class as itself; a custom subclass stays an Error with its name', async () => {
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    const cases: Array<[Error, object]> = [
      [new TypeError('bad type'), TypeError.prototype],
      [new RangeError('out of range'), RangeError.prototype],
      [new SyntaxError('bad syntax'), SyntaxError.prototype],
      [Object.assign(new ReferenceError('no such name'), { code: 'E_REF' }), ReferenceError.prototype],
      [new EvalError('bad eval'), EvalError.prototype],
      [new URIError('bad uri'), URIError.prototype],
      [new Error('plain'), Error.prototype],
      [Object.assign(new QuotaError('over quota'), { code: 'E_QUOTA' }), Error.prototype],
    ];

    const back = await echo(cases.map(([error]) => error));

    back.forEach((error, i) => {
      const [sent, prototype] = cases[i]!;
      expect(Object.getPrototypeOf(error)).toBe(prototype);
      expect(error.name).toBe(sent.name);
      expect(error.message).toBe(sent.message);
      expect(error.stack).toBe(sent.stack);
      expect((error as { code?: unknown }).code).toBe((sent as { code?: unknown }).code);
    });
  });

  it("keeps an error's cause, an error or any value, and an explicit undefined cause", async () => {
    const root = new RangeError('disk full');
    const sent = [
      new Error('save failed', { cause: root }),
      new TypeError('bad input', { cause: { field: 'age', got: -1 } }),
      new Error('no reason given', { cause: undefined }),
      new Error('no cause at all'),
    ];
    const [withError, withValue, withUndefined, without] = await echo(sent);

    expect(withError!.cause).toBeInstanceOf(RangeError);
    expect((withError!.cause as Error).message).toBe('disk full');
    expect(withValue!.cause).toEqual({ field: 'age', got: -1 });
    expect('cause' in withUndefined!).toBe(true);
    expect('cause' in without!).toBe(false);
  });

  it('rebuilds an AggregateError with its errors', async () => {
    const aggregate = new AggregateError([new TypeError('first'), 'not an error'], 'both failed');

    const back = await echo(aggregate);

    expect(back).toBeInstanceOf(AggregateError);
    expect(back.message).toBe('both failed');
    expect(back.stack).toBe(aggregate.stack);
    expect(back.errors).toHaveLength(2);
    expect(back.errors[0]).toBeInstanceOf(TypeError);
    expect(back.errors[0].message).toBe('first');
    expect(back.errors[1]).toBe('not an error');
  });

  it('keeps ArrayBuffer and DataView apart from Buffer, a DataView with only the bytes it spans', async () => {
    const memory = new ArrayBuffer(64);
    new Uint8Array(memory).forEach((_, i, bytes) => (bytes[i] = i));
    // Past the size a result's bytes are sent from without a copy.
    const large = new ArrayBuffer(70_000);
    new Uint8Array(large).fill(7);
    const sent: [ArrayBuffer, DataView, ArrayBuffer, DataView, DataView] = [
      memory,
      new DataView(memory, 5, 9),
      new ArrayBuffer(0),
      new DataView(large, 1, 69_998),
      new DataView(memory, 64),
    ];

    const [buffer, view, empty, largeView, emptyView] = await echo(sent);

    expect(Object.getPrototypeOf(buffer)).toBe(ArrayBuffer.prototype);
    expect(Buffer.from(buffer).equals(Buffer.from(memory))).toBe(true);
    expect(Object.getPrototypeOf(view)).toBe(DataView.prototype);
    expect(view.byteLength).toBe(9);
    expect([view.getUint8(0), view.getUint32(5)]).toEqual([5, 0x0a0b0c0d]);
    expect(Object.getPrototypeOf(empty)).toBe(ArrayBuffer.prototype);
    expect(empty.byteLength).toBe(0);
    expect(Object.getPrototypeOf(largeView)).toBe(DataView.prototype);
    expect(largeView.byteLength).toBe(69_998);
    expect(Buffer.from(largeView.buffer, largeView.byteOffset, 69_998).every((b) => b === 7)).toBe(true);
    expect(Object.getPrototypeOf(emptyView)).toBe(DataView.prototype);
    expect(emptyView.byteLength).toBe(0);
  });

  it('keeps unicode strings, keys included, and long ones', async () => {
    const strings = {
      'clé 🔑': 'naïve café — 日本語 — עברית — العربية',
      emoji: '👩🏽‍💻🏳️‍🌈 family: 👨‍👩‍👧‍👦',
      combining: 'e\u0301 vs \u00e9',
      nul: 'before\u0000after',
      astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10FFFF}',
      long: '∑λ🎉'.repeat(40_000),
      empty: '',
    };
    expect(await echo(strings)).toStrictEqual(strings);
  });
});

describe('values that cannot be encoded', () => {
  const backend = new RecordingBackend();
  let cold: Pool;

  beforeAll(() => {
    cold = new Pool({ name: 'values-cold', max: 1, logger: false, taskRoot: TASK_ROOT, backend });
  });

  afterAll(async () => {
    await cold.close();
  });

  const unencodable: Array<[string, unknown]> = [
    ['a function', () => 'nope'],
    ['a symbol', Symbol('nope')],
    ['the BigInt 2n ** 64n', 2n ** 64n],
    ['the BigInt -(2n ** 63n) - 1n', -(2n ** 63n) - 1n],
    ['a function inside a Map inside an object', { deep: new Map([['fn', () => 1]]) }],
  ];

  it.each(unencodable)('%s rejects with SerializationError before a runner starts', async (_, value) => {
    const error = await cold.call('tasks/basic#echo', [value]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe('FLAME_ERR_SERIALIZATION');
    expect((error as Error).message).toContain('tasks/basic#echo');
    expect(backend.launches).toHaveLength(0);
    expect(cold.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });

  it.each(unencodable)('%s never reaches a warm runner, and the next call works', async (_, value) => {
    // `count` counts the calls its runner has served, so a call that slipped through shows.
    const first = await pool.call<number>('tasks/basic#count');

    await expect(pool.call('tasks/basic#echo', [value])).rejects.toBeInstanceOf(SerializationError);

    expect(await pool.call<number>('tasks/basic#count')).toBe(first + 1);
    expect(await echo('still fine')).toBe('still fine');
  });

  it('rejects a circular value saying it is circular and where, before a runner starts', async () => {
    const order: Record<string, unknown> = { id: 7, lines: [] };
    (order.lines as unknown[]).push({ sku: 'a', order });

    const error = await cold.call('tasks/basic#echo', [order]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toBe(
      'the arguments of tasks/basic#echo cannot be encoded: ' +
        'the value is circular (value[0].lines[0].order refers back to value[0])',
    );
    expect(backend.launches).toHaveLength(0);
  });

  it('rejects a result the runner cannot encode with SerializationError; the runner serves on', async () => {
    const before = await pool.call<WhoAmI>('tasks/basic#whoami');

    const error = await pool.call('tasks/basic#unencodable').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe('FLAME_ERR_SERIALIZATION');
    expect((error as Error).message).toMatch(/function/);
    const after = await pool.call<WhoAmI>('tasks/basic#whoami');
    expect(after.pid).toBe(before.pid);
    expect(after.runnerId).toBe(before.runnerId);
  });
});
