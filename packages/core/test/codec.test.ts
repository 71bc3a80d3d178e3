import { describe, expect, it } from '@jest/globals';
import { ProtocolError, SerializationError } from '@flame-node/core';
import { Codec } from '../src/wire/codec';

/*
 * The codec alone: what a frame's payload may hold, what encoding refuses, and how it
 * treats bytes that did not come from a well-behaved peer. The values users send are
 * covered end to end, through real runners, in values.test.ts.
 */

function roundTrip(value: unknown): unknown {
  const codec = new Codec();
  const [decoded] = new Codec().decode(codec.encode(value, 'the value'));
  return decoded;
}

function encodeError(value: unknown): SerializationError {
  try {
    new Codec().encode(value, 'the arguments of tasks/basic#echo');
  } catch (error) {
    return error as SerializationError;
  }
  throw new Error('encoding was expected to fail');
}

function decodeError(bytes: number[] | Buffer): unknown {
  try {
    new Codec().decode(Buffer.from(bytes));
  } catch (error) {
    return error;
  }
  throw new Error('decoding was expected to fail');
}

function cycle(): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}

// A msgpack ext8 of our typed-array extension (0x62): kind byte, then the array's bytes.
function typedArrayExt(kind: number, bytes: number[]): number[] {
  return [0xc7, bytes.length + 1, 0x62, kind, ...bytes];
}

describe('frames decode on their own', () => {
  it('decodes each frame with a fresh codec, in any order, when objects share a shape', () => {
    const sender = new Codec();
    const first = sender.encode({ id: 1, name: 'a' }, 'value');
    const second = sender.encode({ id: 2, name: 'b' }, 'value');
    const third = sender.encode([{ id: 3, name: 'c' }, { id: 4, name: 'd' }], 'value');

    expect(new Codec().decode(third)).toEqual([[{ id: 3, name: 'c' }, { id: 4, name: 'd' }]]);
    expect(new Codec().decode(second)).toEqual([{ id: 2, name: 'b' }]);
    expect(new Codec().decode(first)).toEqual([{ id: 1, name: 'a' }]);
  });

  it('decodes a header alone as one value and a header with a body as two', () => {
    const codec = new Codec();
    const header = codec.encode({ t: 'result', id: 7 }, 'message');

    expect(codec.decode(header)).toEqual([{ t: 'result', id: 7 }]);
    // An undefined body is still a body: two values, the second undefined.
    const withUndefined = codec.decode(Buffer.concat([header, codec.encode(undefined, 'body')]));
    expect(withUndefined).toHaveLength(2);
    expect(withUndefined[1]).toBeUndefined();
    const withBody = codec.decode(Buffer.concat([header, codec.encode([1, 'two'], 'body')]));
    expect(withBody).toEqual([{ t: 'result', id: 7 }, [1, 'two']]);
  });
});

describe('encoding refuses what cannot come back as it went', () => {
  it.each([
    ['a function', () => 1, /a function cannot be sent/],
    ['a symbol', Symbol('s'), /a symbol cannot be sent/],
    ['2n ** 64n', 2n ** 64n, /BigInt 18446744073709551616 is outside the 64-bit integer range/],
    ['-(2n ** 63n) - 1n', -(2n ** 63n) - 1n, /BigInt -9223372036854775809 is outside/],
    ['a function deep inside a Map', { a: [new Map([['k', { f: () => 1 }]])] }, /a function/],
    ['a cycle', cycle(), /the value is circular \(value\.self refers back to value\)$/],
    ['a SharedArrayBuffer', { shared: new SharedArrayBuffer(8) }, /a SharedArrayBuffer cannot be sent/],
  ])('%s throws SerializationError saying what and why', (_name, value, reason) => {
    const error = encodeError(value);
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.code).toBe('FLAME_ERR_SERIALIZATION');
    expect(error.message).toMatch(/^the arguments of tasks\/basic#echo cannot be encoded: /);
    expect(error.message).toMatch(reason);
  });

  it('leaves the codec usable after a refused value', () => {
    const codec = new Codec();
    const cycle: Record<string, unknown> = { pad: 'x'.repeat(5_000) };
    cycle.self = cycle;
    expect(() => codec.encode(cycle, 'value')).toThrow(SerializationError);
    expect(() => codec.encode({ pad: 'y'.repeat(5_000), fn: () => 1 }, 'value')).toThrow(SerializationError);

    const good = { list: [1, 2, 3], map: new Map([[1, 'one']]), text: 'z'.repeat(6_000) };
    expect(new Codec().decode(codec.encode(good, 'value'))).toEqual([good]);
  });
});

describe('circular values and values nested too deeply', () => {
  function circular(build: (self: unknown[]) => unknown): unknown {
    const root: unknown[] = [];
    root.push(build(root));
    return root;
  }

  it.each([
    ['an array', circular((root) => [1, root]), 'value[0][1] refers back to value'],
    ['an object key', circular((root) => ({ 'a key': root })), 'value[0]["a key"] refers back to value'],
    ['a Map value', circular((root) => new Map([['k', root]])), 'value[0].get("k") refers back to value'],
    ['a Map key', circular((root) => new Map([[root, 1]])), 'value[0].keys()[0] refers back to value'],
    ['a Set member', circular((root) => new Set([2, root])), 'value[0].values()[1] refers back to value'],
    [
      "an AggregateError's errors",
      circular((root) => new AggregateError([root])),
      'value[0].errors[0] refers back to value',
    ],
  ])('names where a cycle through %s refers back', (_name, value, where) => {
    expect(encodeError(value).message).toContain(`the value is circular (${where})`);
  });

  it('still reports a deep value without a cycle as nested too deeply, however much it shares', () => {
    // Each level holds the one below twice: shared, not circular, and 2^100000 paths long.
    let deep: unknown[] = [];
    for (let depth = 0; depth < 100_000; depth++) deep = [deep, deep];

    const started = Date.now();
    const error = encodeError(deep);

    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toMatch(/the value is nested too deeply$/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('typed arrays', () => {
  it('sends a subclass of a typed array as its base class, contents intact', () => {
    class Samples extends Float32Array {}
    const decoded = roundTrip(new Samples([1.5, -2.25, 3]));

    expect(Object.getPrototypeOf(decoded)).toBe(Float32Array.prototype);
    expect(Array.from(decoded as Float32Array)).toEqual([1.5, -2.25, 3]);
  });

  it('gives the decoded wide array its own aligned memory even at an odd frame offset', () => {
    // A leading string of odd length puts the array's bytes at an odd offset in the frame.
    const decoded = roundTrip(['abc', new Float64Array([Math.PI, -0.5])]) as [string, Float64Array];
    expect(decoded[1]).toBeInstanceOf(Float64Array);
    expect(decoded[1].byteOffset % 8).toBe(0);
    expect(Array.from(decoded[1])).toEqual([Math.PI, -0.5]);
  });

  it('refuses an unknown typed-array kind with ProtocolError', () => {
    const error = decodeError(typedArrayExt(99, [0, 0]));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/unknown typed array kind 99/);
  });

  it('refuses a typed array whose byte count is not a whole number of elements', () => {
    // Float64Array (kind 9) with 3 bytes: silently truncating it would lose data.
    const error = decodeError(typedArrayExt(9, [1, 2, 3]));
    expect(error).toBeInstanceOf(ProtocolError);
  });
});

describe('decoding bytes from an untrusted peer', () => {
  it.each([
    ['an empty payload', []],
    ['a truncated array', [0x92, 0x01]],
    ['an array32 announcing 2^32-1 items', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ['a map32 announcing 2^32-1 entries', [0xdf, 0xff, 0xff, 0xff, 0xff]],
    ['a str32 announcing 4 GiB', [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ['a bin32 announcing 4 GiB', [0xc6, 0xff, 0xff, 0xff, 0xff, 0x61]],
    ['an ext32 announcing 4 GiB', [0xc9, 0xff, 0xff, 0xff, 0xff, 0x62, 0x01]],
    ['three values', [0x01, 0x02, 0x03]],
  ])('refuses %s with ProtocolError, at once and without allocating', (_name, bytes) => {
    const before = process.memoryUsage().arrayBuffers;
    const started = Date.now();

    const error = decodeError(bytes);

    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('FLAME_ERR_PROTOCOL');
    expect(Date.now() - started).toBeLessThan(200);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10 * 1024 * 1024);
  });
});
