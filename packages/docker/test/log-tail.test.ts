import { LogTail, StreamDemuxer, type OutputStream } from '../src/log-tail';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('output demultiplexing', () => {
  it('splits stdout and stderr frames even when chunks cut through headers', () => {
    const seen: [OutputStream, string][] = [];
    const demuxer = new StreamDemuxer((stream, data) => seen.push([stream, data.toString()]));
    const frames = [frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n')];
    const bytes = Buffer.concat(frames);
    for (let i = 0; i < bytes.length; i += 3) demuxer.push(bytes.subarray(i, i + 3));
    expect(seen).toEqual([
      ['stdout', 'out one\n'],
      ['stderr', 'err one\n'],
      ['stdout', 'out two\n'],
    ]);
  });

  it('passes a stream without frame headers (a TTY) through as stdout', () => {
    const seen: string[] = [];
    const demuxer = new StreamDemuxer((_, data) => seen.push(data.toString()));
    demuxer.push(Buffer.from('plain text output\n'));
    expect(seen.join('')).toBe('plain text output\n');
  });
});

describe('log tail', () => {
  it('joins lines split across chunks and multibyte characters split across chunks', () => {
    const tail = new LogTail((_, line) => line);
    const text = Buffer.from('héllo wörld\nsecond');
    tail.write('stdout', text.subarray(0, 2));
    tail.write('stdout', text.subarray(2));
    tail.end();
    expect(tail.lines()).toEqual(['héllo wörld', 'second']);
  });

  it('cuts a runaway line instead of buffering it forever', () => {
    const tail = new LogTail((_, line) => line);
    tail.write('stderr', Buffer.from('x'.repeat(10_000)));
    expect(tail.lines()).toHaveLength(1);
    expect(tail.lines()[0].length).toBeLessThan(5000);
  });
});
