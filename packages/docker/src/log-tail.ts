import { StringDecoder } from 'node:string_decoder';
import type { OutputStream } from '@flame-node/core';

/** How many of a runner's last output lines are kept for its exit report. */
export const LOG_TAIL_LINES = 30;

/** Longer lines are cut, in the tail and in the parent's log. */
const MAX_LINE = 4096;

export type { OutputStream };

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian length) into stdout and stderr payloads. A stream that does not start with a
 * valid header (a TTY container) is passed through as stdout.
 */
export class StreamDemuxer {
  private buffered: Buffer = Buffer.alloc(0);
  private raw = false;

  constructor(private readonly onData: (stream: OutputStream, data: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.raw) return this.onData('stdout', chunk);
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);

    while (this.buffered.length >= 8) {
      const type = this.buffered[0];
      if (type > 2 || this.buffered[1] !== 0 || this.buffered[2] !== 0 || this.buffered[3] !== 0) {
        this.raw = true;
        const rest = this.buffered;
        this.buffered = Buffer.alloc(0);
        return this.onData('stdout', rest);
      }
      const length = this.buffered.readUInt32BE(4);
      if (this.buffered.length < 8 + length) return;
      const payload = this.buffered.subarray(8, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.onData(type === 2 ? 'stderr' : 'stdout', payload);
    }
  }
}

/**
 * Cuts a runner's output into lines, hands each to `onLine`, and keeps the last few for the
 * exit report, so a runner that dies during boot can say why.
 */
export class LogTail {
  private readonly kept: string[] = [];
  private readonly partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  private readonly decoders: Record<OutputStream, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };

  constructor(
    private readonly onLine: (stream: OutputStream, line: string) => string,
    private readonly keep = LOG_TAIL_LINES,
  ) {}

  write(stream: OutputStream, data: Buffer): void {
    const text = this.partial[stream] + this.decoders[stream].write(data);
    const lines = text.split('\n');
    let rest = lines.pop() ?? '';
    // A runner printing without newlines must not grow this buffer without bound.
    if (rest.length > MAX_LINE) {
      lines.push(rest);
      rest = '';
    }
    this.partial[stream] = rest;
    for (const line of lines) this.line(stream, line);
  }

  /** Emits whatever is left without a final newline. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream] + this.decoders[stream].end();
      this.partial[stream] = '';
      if (rest !== '') this.line(stream, rest);
    }
  }

  /** The last lines, oldest first. */
  lines(): string[] {
    return [...this.kept];
  }

  private line(stream: OutputStream, raw: string): void {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const cut = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}...` : line;
    const shown = this.onLine(stream, cut);
    this.kept.push(shown);
    if (this.kept.length > this.keep) this.kept.shift();
  }
}

/**
 * Re-logs one output line of a runner through the parent's logger and returns its short form
 * for the tail; shared with the local backend.
 */
export { relayRunnerLine as forwardRunnerLine } from '@flame-node/core';
