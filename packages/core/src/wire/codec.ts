import { addExtension, Packr } from 'msgpackr';
import { ProtocolError, SerializationError } from '../errors';

/*
 * msgpackr settings, chosen so that every frame decodes on its own and values come back
 * as they went:
 * - useRecords with no shared structures: record definitions travel inline in each frame,
 *   and plain objects and Maps stay distinct (mapsAsObjects: false keeps Maps as Maps).
 * - int64AsType 'bigint': 64-bit integers come back as BigInt; larger BigInts throw.
 * - functions are refused instead of being silently written as undefined.
 * Set and every typed array get extensions below, since msgpackr writes them as plain
 * arrays and bytes unless `moreTypes` is on, and `moreTypes` would also accept BigInts
 * past 64 bits, which we want refused.
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

// Errors inside values keep their class name, message, stack and code.
addExtension({
  Class: Error,
  type: ERROR_EXT,
  write: (error: Error) => [
    error.name,
    error.message,
    error.stack,
    (error as { code?: unknown }).code,
  ],
  read: ([name, message, stack, code]: [string, string, string?, unknown?]) => {
    const error = new Error(message);
    error.name = name;
    if (stack !== undefined) error.stack = stack;
    if (code !== undefined) (error as { code?: unknown }).code = code;
    return error;
  },
});

addExtension({
  Class: RegExp,
  type: REGEXP_EXT,
  write: (pattern: RegExp) => [pattern.source, pattern.flags],
  read: ([source, flags]: [string, string]) => new RegExp(source, flags),
});

// Buffer and Uint8Array share this extension (a Buffer is a Uint8Array), so the first
// data byte says which class to rebuild. The bytes are written straight into msgpackr's
// output, one copy, however large.
for (const Class of TYPED_ARRAYS.slice(1)) {
  addExtension({
    Class,
    type: TYPED_ARRAY_EXT,
    pack: writeTypedArray,
    unpack: (data: Buffer) => rebuildTypedArray(data[0]!, data.subarray(1)),
  } as unknown as Parameters<typeof addExtension>[0]);
}

type Allocate = (size: number) => { target: Buffer; position: number };

// In a body encoded with `encodeBody`, typed arrays from this size on are not copied: only
// their ext header is, and the frame goes out as a list of chunks with the array's own bytes
// in between (one writev), so a large Buffer is copied once, by the kernel. The runner uses
// it for results, which a task hands over when it returns; call arguments are always copied
// when the call is made, so a caller may reuse its buffers at once.
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

// Writes a msgpack ext8/16/32 header, the kind byte and the array's bytes.
function writeTypedArray(array: TypedArray, allocate: Allocate): undefined {
  const length = array.byteLength + 1;
  const header = length < 0x100 ? 3 : length < 0x10000 ? 4 : 6;
  const outOfBand = splices !== null && array.byteLength >= OUT_OF_BAND_FROM;
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
  target[at++] = typedArrayKind(array);
  if (outOfBand) {
    const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    splices!.push({ target, position: at, bytes });
    return undefined;
  }
  target.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
  return undefined;
}

// The extension matched by instanceof, so a subclass (class Samples extends Float32Array)
// lands here too: it goes as its base class. Looking its own constructor up would find no
// kind, and the peer would drop the connection on the frame. Buffer is first in the list,
// so a Buffer is never mistaken for the Uint8Array it also is.
function typedArrayKind(array: TypedArray): number {
  return TYPED_ARRAYS.findIndex((Class) => array instanceof Class);
}

function rebuildTypedArray(kind: number, bytes: Buffer): TypedArray {
  const Class = TYPED_ARRAYS[kind];
  if (Class === undefined || !Buffer.isBuffer(bytes)) {
    throw new ProtocolError(`unknown typed array kind ${kind}`);
  }
  // Byte views need no alignment, so they keep pointing into the frame: no copy.
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

function explain(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const bigint = /^(-?\d+) was too large to fit in MessagePack 64-bit/.exec(message);
  if (bigint) return `the BigInt ${bigint[1]} is outside the 64-bit integer range`;
  if (error instanceof RangeError && /call stack/i.test(message))
    return 'the value is nested too deeply';
  if (/Unknown type: symbol/.test(message)) return 'a symbol cannot be sent';
  return message;
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
      throw new SerializationError(`${what} cannot be encoded: ${explain(error)}`, error);
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
      throw new SerializationError(`${what} cannot be encoded: ${explain(error)}`, error);
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
