import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ProtocolError } from '@flame-node/core';
import { FrameDecoder, frameHeader } from '../src/wire/frame-decoder';

/** A frame as it travels: the 4-byte big-endian length, then the payload. */
function framed(payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length), payload]);
}

function text(frames: Buffer[]): string[] {
  return frames.map((frame) => frame.toString('utf8'));
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('FrameDecoder', () => {
  it('rebuilds a frame fed one byte at a time, and only when its last byte arrives', () => {
    const decoder = new FrameDecoder(1024);
    const wire = framed(Buffer.from('hello, frames'));
    const completed: Buffer[] = [];

    for (let i = 0; i < wire.length; i++) {
      const frames = decoder.push(wire.subarray(i, i + 1));
      if (i < wire.length - 1) {
        expect(frames).toEqual([]);
        // Prefix bytes are held until the prefix is whole; then only body bytes count.
        expect(decoder.buffered).toBe(i < 3 ? i + 1 : i - 3);
      }
      completed.push(...frames);
    }

    expect(text(completed)).toEqual(['hello, frames']);
    expect(decoder.buffered).toBe(0);
  });

  it('returns every frame of a chunk that holds several, in order', () => {
    const decoder = new FrameDecoder(1024);
    const chunk = Buffer.concat(['one', 'two', 'three', 'four'].map((word) => framed(Buffer.from(word))));

    expect(text(decoder.push(chunk))).toEqual(['one', 'two', 'three', 'four']);
    expect(decoder.buffered).toBe(0);
  });

  it('keeps the start of the next frame when a chunk ends inside it', () => {
    const decoder = new FrameDecoder(1024);
    const wire = Buffer.concat([framed(Buffer.from('first')), framed(Buffer.from('second'))]);
    // Cut inside the second frame's length prefix: 4 + 5 bytes of frame one, then 2 more.
    const cut = 4 + 5 + 2;

    expect(text(decoder.push(wire.subarray(0, cut)))).toEqual(['first']);
    expect(decoder.buffered).toBe(2);
    expect(text(decoder.push(wire.subarray(cut)))).toEqual(['second']);
  });

  it('reads a length prefix split across chunks at every possible point', () => {
    const payload = Buffer.alloc(300, 7);
    const wire = framed(payload);

    for (const split of [1, 2, 3]) {
      const decoder = new FrameDecoder(1024);
      expect(decoder.push(wire.subarray(0, split))).toEqual([]);
      const frames = decoder.push(wire.subarray(split));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.equals(payload)).toBe(true);
    }
  });

  it('joins a body that arrives in many chunks', () => {
    const decoder = new FrameDecoder(1 << 20);
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const wire = framed(payload);
    const frames: Buffer[] = [];

    for (let at = 0; at < wire.length; at += 4_093) {
      frames.push(...decoder.push(wire.subarray(at, at + 4_093)));
    }

    expect(frames).toHaveLength(1);
    expect(frames[0]!.equals(payload)).toBe(true);
  });

  it('yields an empty frame for a zero length, alone or between other frames', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(frameHeader(0))).toEqual([Buffer.alloc(0)]);

    const chunk = Buffer.concat([framed(Buffer.from('a')), frameHeader(0), framed(Buffer.from('b'))]);
    expect(text(decoder.push(chunk))).toEqual(['a', '', 'b']);
  });

  it('accepts a frame of exactly maxFrame bytes and refuses one byte more', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(framed(Buffer.alloc(16, 1)))[0]).toHaveLength(16);

    expect(() => new FrameDecoder(16).push(frameHeader(17))).toThrow(ProtocolError);
  });

  it('honours a raised limit, as after the handshake', () => {
    const decoder = new FrameDecoder(8);
    decoder.maxFrame = 64;
    expect(decoder.push(framed(Buffer.alloc(64)))).toHaveLength(1);
  });

  it('refuses an announced length over the limit from the prefix alone, allocating nothing', () => {
    const decoder = new FrameDecoder(1024);
    const alloc = jest.spyOn(Buffer, 'alloc');
    const allocUnsafe = jest.spyOn(Buffer, 'allocUnsafe');
    const allocUnsafeSlow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const concat = jest.spyOn(Buffer, 'concat');
    const before = process.memoryUsage().arrayBuffers;

    let thrown: unknown;
    try {
      // Only the 4 prefix bytes: no body byte has arrived, and none is waited for.
      decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as ProtocolError).code).toBe('FLAME_ERR_PROTOCOL');
    expect((thrown as Error).message).toMatch(/4294967295 bytes exceeds the limit of 1024/);
    expect(alloc).not.toHaveBeenCalled();
    expect(allocUnsafe).not.toHaveBeenCalled();
    expect(allocUnsafeSlow).not.toHaveBeenCalled();
    expect(concat).not.toHaveBeenCalled();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
    expect(decoder.buffered).toBe(0);
  });

  it('refuses an oversized prefix that arrives byte by byte as soon as its fourth byte is in', () => {
    const decoder = new FrameDecoder(1024);
    expect(decoder.push(Buffer.from([0xff]))).toEqual([]);
    expect(decoder.push(Buffer.from([0xff]))).toEqual([]);
    expect(decoder.push(Buffer.from([0xff]))).toEqual([]);
    expect(() => decoder.push(Buffer.from([0xff]))).toThrow(ProtocolError);
  });

  it('refuses an oversized frame that follows good ones in the same chunk', () => {
    const decoder = new FrameDecoder(1024);
    const chunk = Buffer.concat([framed(Buffer.from('fine')), frameHeader(1025), Buffer.alloc(8)]);
    expect(() => decoder.push(chunk)).toThrow(/1025 bytes exceeds the limit of 1024/);
  });
});
