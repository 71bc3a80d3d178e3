import { FRAME_HEADER_BYTES } from './protocol';
import { ProtocolError } from '../errors';

/**
 * Cuts a byte stream into frames: a 4-byte big-endian length, then that many bytes.
 *
 * The announced length is checked against `maxFrame` as soon as the prefix is complete,
 * before anything is allocated for the body, so a peer cannot make us reserve memory by
 * announcing a huge frame. Chunks of a frame are kept as they came and joined once.
 */
export class FrameDecoder {
  #maxFrame: number;
  #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #expected = -1;
  #parts: Buffer[] = [];
  #received = 0;

  constructor(maxFrame: number) {
    this.#maxFrame = maxFrame;
  }

  /** The largest frame accepted; it may be raised after the handshake. */
  set maxFrame(value: number) {
    this.#maxFrame = value;
  }

  /** Bytes held for a frame that has not finished yet. */
  get buffered(): number {
    return this.#received + this.#headerFill;
  }

  /** Feeds one chunk; returns the frames it completed, in order. Throws `ProtocolError`. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;

    while (offset < chunk.length) {
      if (this.#expected < 0) {
        offset = this.#readHeader(chunk, offset);
        if (this.#expected === 0) frames.push(this.#finish());
        continue;
      }

      const take = Math.min(this.#expected - this.#received, chunk.length - offset);
      this.#parts.push(chunk.subarray(offset, offset + take));
      this.#received += take;
      offset += take;
      if (this.#received === this.#expected) frames.push(this.#finish());
    }

    return frames;
  }

  #readHeader(chunk: Buffer, offset: number): number {
    // The common case, a whole prefix inside the chunk, skips the staging buffer.
    if (this.#headerFill === 0 && chunk.length - offset >= FRAME_HEADER_BYTES) {
      this.#setExpected(chunk.readUInt32BE(offset));
      return offset + FRAME_HEADER_BYTES;
    }

    const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, chunk.length - offset);
    chunk.copy(this.#header, this.#headerFill, offset, offset + take);
    this.#headerFill += take;
    if (this.#headerFill === FRAME_HEADER_BYTES) {
      this.#headerFill = 0;
      this.#setExpected(this.#header.readUInt32BE(0));
    }
    return offset + take;
  }

  #setExpected(length: number): void {
    if (length > this.#maxFrame) {
      throw new ProtocolError(`frame of ${length} bytes exceeds the limit of ${this.#maxFrame}`);
    }
    this.#expected = length;
  }

  #finish(): Buffer {
    const parts = this.#parts;
    const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#received);
    this.#parts = [];
    this.#received = 0;
    this.#expected = -1;
    return frame;
  }
}

/** The 4-byte length prefix for a payload of `length` bytes. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(length, 0);
  return header;
}
