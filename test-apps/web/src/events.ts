import type { ServerResponse } from 'node:http';

// Proxies and browsers drop a quiet stream after a while; a comment line now and then
// keeps it open and lets a dead client be noticed on the next write.
const HEARTBEAT_MS = 15_000;

/** Server-Sent Events to every open page. */
export class EventHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor() {
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) client.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** Pages connected right now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Turns `res` into an event stream, sends it `first`, and keeps it until it closes. */
  open(res: ServerResponse, first: { event: string; data: unknown }): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // A page that loses the stream reconnects after this long (ms).
    res.write('retry: 1000\n\n');
    res.write(frame(first.event, first.data));
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
  }

  /** Sends one event to every page. */
  send(event: string, data: unknown): void {
    const text = frame(event, data);
    for (const client of this.#clients) client.write(text);
  }

  /** Ends every stream, so that the HTTP server can close. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }
}

// JSON.stringify never emits a raw newline, so every event is one `data:` line.
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
