import { addExtension, Packr } from 'msgpackr';
import { ProtocolError, SerializationError } from '../errors';
import { findCycle } from './cycle';

/*
 * msgpackr settings, chosen so that every frame decodes on its own and values come back
 * as they went:
 * - useRecords with no shared structures: record definitions travel inline in each frame,
 *   and plain objects and Maps stay distinct (mapsAsObjects: false keeps Maps as Maps).
 * - int64AsType 'bigint': 64-bit integers come back as BigInt; larger BigInts throw.
 * - functions are refused instead of being silently written as undefined.
 * Set, every typed array, DataView and ArrayBuffer get extensions below, since msgpackr
 * writes them as plain arrays and bytes unless `moreTypes` is on, and `moreTypes` would
 * also accept BigInts past 64 bits, which we want refused.
 *
 * TODO: -0 arrives as 0. msgpackr's integer test (value >>> 0 === value) holds for -0, so
 * it is written as the integer 0, and msgpackr has no option or hook on that path. Carrying
 * it would take a walk over every value before encoding (a quarter of the encoding time for
 * large arrays of numbers) or a change in msgpackr itself. -0 === 0, so only Object.is and
 * 1 / x can tell the difference.
 */
const SET_EXT = 0x61;
const TYPED_ARRAY_EXT = 0x62;
const ERROR_EXT = 0x63;
const REGEXP_EXT = 0x64;

const TYPED_ARRAYS = [
  Buffer,
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

// Kinds past the typed arrays, in the same kind byte of the byte extension.
const DATA_VIEW_KIND = TYPED_ARRAYS.length;
const ARRAY_BUFFER_KIND = TYPED_ARRAYS.length + 1;

type TypedArray = NodeJS.TypedArray;
type TypedArrayClass = new (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray;

addExtension({
  Class: Set,
  type: SET_EXT,
  write: (set: Set<unknown>) => [...set],
  read: (items: unknown[]) => new Set(items),
});

// A Map subclass would otherwise be written as an empty object: plain Maps are handled
// before extensions, so this only sees subclasses, and sends them as plain Maps.
addExtension({
  Class: Map,
  write: (map: Map<unknown, unknown>) => new Map(map),
} as unknown as Parameters<typeof addExtension>[0]);

// Keyed by name, the only trace of its class an error leaves on the wire. Node's own errors
// (ERR_OUT_OF_RANGE and the like) are named after their built-in base, and come back as it.
const ERROR_CLASSES = new Map<string, new (message: string) => Error>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

// name, message, stack, code, an AggregateError's errors, and the cause when there is one
// (a sixth field, so that an error with `cause: undefined` keeps it).
type ErrorFields = [string, string, string?, unknown?, unknown[]?, unknown?];

function writeError(error: Error): ErrorFields {
  const fields: ErrorFields = [
    error.name,
    error.message,
    error.stack,
    (error as { code?: unknown }).code,
  ];
  const aggregate = error instanceof AggregateError;
  if (aggregate || 'cause' in error) fields.push(aggregate ? error.errors : undefined);
  if ('cause' in error) fields.push(error.cause);
  return fields;
}

function readError(fields: ErrorFields): Error {
  const [name, message, stack, code, errors, cause] = fields;
  const error = rebuildError(name, message, errors);
  if (stack !== undefined) error.stack = stack;
  if (code !== undefined) (error as { code?: unknown }).code = code;
  if (fields.length > 5) error.cause = cause;
  return error;
}

function rebuildError(name: string, message: string, errors: unknown[] | undefined): Error {
  if (name === 'AggregateError') return new AggregateError(errors ?? [], message);
  const Class = ERROR_CLASSES.get(name);
  if (Class !== undefined) return new Class(message);

  const error = new Error(message);
  error.name = name;
  return error;
}

// Errors inside values keep their name, message, stack, code and cause, and an
// AggregateError its errors. The class is rebuilt from the name, so only built-in classes
// come back as themselves: a custom subclass's class exists only in the sender's code, so
// it arrives as a plain Error that keeps its name.
addExtension({
  Class: Error,
  type: ERROR_EXT,
  write: writeError,
  read: readError,
});

addExtension({
  Class: RegExp,
  type: REGEXP_EXT,
  write: (pattern: RegExp) => [pattern.source, pattern.flags],
  read: ([source, flags]: [string, string]) => new RegExp(source, flags),
});

// Every byte view and ArrayBuffer shares this extension (a Buffer is a Uint8Array), so the
// first data byte says which class to rebuild. The bytes are written straight into msgpackr's
// output, one copy, however large.
const unpackBytes = (data: Buffer) => rebuildBytes(data[0]!, data.subarray(1));

// Shared memory cannot cross to another process, and msgpackr would write an empty map.
addExtension({
  Class: SharedArrayBuffer,
  type: TYPED_ARRAY_EXT,
  write: () => {
    throw new TypeError('a SharedArrayBuffer cannot be sent: its memory stays in this process');
  },
  read: () => undefined,
});

// addExtension puts each new extension first in msgpackr's instanceof search. The typed
// arrays are added last, so a Buffer finds its extension without testing these two first.
addBytesExtension(DataView, (view: DataView, allocate) =>
  writeBytes(DATA_VIEW_KIND, view, allocate),
);
addBytesExtension(ArrayBuffer, (buffer: ArrayBuffer, allocate) =>
  writeBytes(ARRAY_BUFFER_KIND, new Uint8Array(buffer), allocate),
);
for (const Class of TYPED_ARRAYS.slice(1)) {
  addBytesExtension(Class, (array: TypedArray, allocate) =>
    writeBytes(typedArrayKind(array), array, allocate),
  );
}

type Allocate = (size: number) => { target: Buffer; position: number };

// In a body encoded with `encodeBody`, byte arrays of any kind above from this size on are
// not copied: only their ext header is, and the frame goes out as a list of chunks with the
// array's own bytes in between (one writev), so a large Buffer is copied once, by the kernel.
// The runner uses it for results, which a task hands over when it returns; call arguments are
// always copied when the call is made, so a caller may reuse its buffers at once.
const OUT_OF_BAND_FROM = 64 * 1024;

interface Splice {
  readonly target: Buffer;
  readonly position: number;
  readonly bytes: Buffer;
}

/** An encoded value written as several chunks; `length` is their total. */
export class Chunks {
  readonly parts: Buffer[];
  readonly length: number;

  constructor(parts: Buffer[]) {
    this.parts = parts;
    this.length = parts.reduce((sum, part) => sum + part.length, 0);
  }
}

/** An encoded body: one buffer, or chunks with large byte arrays left in place. */
export type Body = Buffer | Chunks;

// Set while Codec.encode runs with splicing on; msgpackr calls the extension synchronously.
let splices: Splice[] | null = null;

function addBytesExtension(
  Class: new (...args: never[]) => object,
  pack: (value: never, allocate: Allocate) => undefined,
): void {
  const extension = { Class, type: TYPED_ARRAY_EXT, pack, unpack: unpackBytes };
  addExtension(extension as unknown as Parameters<typeof addExtension>[0]);
}

// Writes a msgpack ext8/16/32 header, the kind byte and the bytes the view spans.
function writeBytes(kind: number, view: ArrayBufferView, allocate: Allocate): undefined {
  const length = view.byteLength + 1;
  const header = length < 0x100 ? 3 : length < 0x10000 ? 4 : 6;
  const outOfBand = splices !== null && view.byteLength >= OUT_OF_BAND_FROM;
  const { target, position } = allocate(header + (outOfBand ? 1 : length));

  let at = position;
  if (header === 3) {
    target[at++] = 0xc7;
    target[at++] = length;
  } else if (header === 4) {
    target[at++] = 0xc8;
    target.writeUInt16BE(length, at);
    at += 2;
  } else {
    target[at++] = 0xc9;
    target.writeUInt32BE(length, at);
    at += 4;
  }
  target[at++] = TYPED_ARRAY_EXT;
  target[at++] = kind;
  if (outOfBand) {
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    splices!.push({ target, position: at, bytes });
    return undefined;
  }
  target.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), at);
  return undefined;
}

// The extension matched by instanceof, so a subclass (class Samples extends Float32Array)
// lands here too: it goes as its base class. Looking its own constructor up would find no
// kind, and the peer would drop the connection on the frame. Buffer is first in the list,
// so a Buffer is never mistaken for the Uint8Array it also is.
function typedArrayKind(array: TypedArray): number {
  return TYPED_ARRAYS.findIndex((Class) => array instanceof Class);
}

function rebuildBytes(kind: number, bytes: Buffer): ArrayBufferView | ArrayBufferLike {
  // Byte views need no alignment, so they keep pointing into the frame: no copy.
  if (kind === DATA_VIEW_KIND) return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // An ArrayBuffer cannot be a window onto the frame: it gets its own copy of the bytes.
  if (kind === ARRAY_BUFFER_KIND) {
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  }
  return rebuildTypedArray(kind, bytes);
}

function rebuildTypedArray(kind: number, bytes: Buffer): TypedArray {
  const Class = TYPED_ARRAYS[kind];
  if (Class === undefined || !Buffer.isBuffer(bytes)) {
    throw new ProtocolError(`unknown typed array kind ${kind}`);
  }
  if (Class === Buffer) return bytes;
  if (Class === Uint8Array) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);

  // A length that is not a whole number of elements would be truncated without a word.
  const width = (Class as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.byteLength % width !== 0) {
    throw new ProtocolError(
      `${bytes.byteLength} bytes are not a whole number of ${Class.name} elements`,
    );
  }

  // A copy gives the view its own, correctly aligned ArrayBuffer.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new (Class as unknown as TypedArrayClass)(copy.buffer, 0, bytes.byteLength / width);
}

function createPackr(): Packr {
  return new Packr({
    useRecords: true,
    mapsAsObjects: false,
    int64AsType: 'bigint',
    writeFunction: () => {
      throw new TypeError('a function cannot be sent');
    },
  } as ConstructorParameters<typeof Packr>[0]);
}

function explain(error: unknown, value: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const bigint = /^(-?\d+) was too large to fit in MessagePack 64-bit/.exec(message);
  if (bigint) return `the BigInt ${bigint[1]} is outside the 64-bit integer range`;
  if (error instanceof RangeError && /call stack/i.test(message)) return explainTooDeep(value);
  if (/Unknown type: symbol/.test(message)) return 'a symbol cannot be sent';
  return message;
}

// msgpackr has no depth limit of its own: the call stack is the limit, and a circular value
// hits it too. Looking for a cycle only now keeps the search off every successful encode.
function explainTooDeep(value: unknown): string {
  const cycle = findCycle(value);
  if (cycle === undefined) return 'the value is nested too deeply';
  return `the value is circular (${cycle.at} refers back to ${cycle.to})`;
}

/** Encodes and decodes the msgpack values of one connection. */
export class Codec {
  readonly #packr = createPackr();
  readonly #unpackr = createPackr();

  /** Encodes `value`, or throws a `SerializationError` saying what could not be encoded. */
  encode(value: unknown, what: string): Buffer {
    try {
      return this.#packr.pack(value);
    } catch (error) {
      throw new SerializationError(`${what} cannot be encoded: ${explain(error, value)}`, error);
    }
  }

  /** Like `encode`, but large byte arrays stay out of the copy (see `Chunks`). */
  encodeBody(value: unknown, what: string): Body {
    const found: Splice[] = [];
    let packed: Buffer;
    splices = found;
    try {
      packed = this.#packr.pack(value);
    } catch (error) {
      throw new SerializationError(`${what} cannot be encoded: ${explain(error, value)}`, error);
    } finally {
      splices = null;
    }
    if (found.length === 0) return packed;

    const parts: Buffer[] = [];
    let cursor = 0;
    for (const { target, position, bytes } of found) {
      // msgpackr moved to a new buffer after the splice was noted: encode it whole.
      if (target.buffer !== packed.buffer) return this.encode(value, what);
      const at = target.byteOffset + position - packed.byteOffset;
      parts.push(packed.subarray(cursor, at), bytes);
      cursor = at;
    }
    parts.push(packed.subarray(cursor));
    return new Chunks(parts);
  }

  /**
   * Decodes one frame's payload: a header value, optionally followed by a body value.
   * Throws a `ProtocolError` for anything else.
   */
  decode(payload: Buffer): unknown[] {
    let values: unknown[];
    try {
      values = this.#unpackr.unpackMultiple(payload) as unknown[];
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ProtocolError(`undecodable frame: ${reason}`);
    }
    if (values.length > 2)
      throw new ProtocolError(`frame holds ${values.length} values, at most 2 expected`);
    return values;
  }
}
