import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** A container as the fake daemon keeps it. */
export interface FakeContainer {
  id: string;
  name: string;
  hostname: string;
  labels: Record<string, string>;
  body: Record<string, unknown>;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  oomKilled: boolean;
  startedAt: string;
  autoRemove: boolean;
  networks: string[];
  attachers: http.ServerResponse[];
  waiters: { condition: string; res: http.ServerResponse }[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Route = (req: RecordedRequest, res: http.ServerResponse) => boolean | Promise<boolean>;

/**
 * A small in-memory Docker Engine API: enough of containers, networks, images, attach and wait
 * for the backend, on a unix socket in a temp dir or on 127.0.0.1. Tests add `routes` to
 * change answers (they run first; returning true means handled).
 */
export class FakeEngine {
  readonly requests: RecordedRequest[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Set<string>(['flame-net']);
  readonly images = new Set<string>(['app:latest']);
  readonly routes: Route[] = [];
  /** Open `/events` streams, each with the container ids its filter names. */
  private readonly subscribers = new Set<{ ids: string[]; res: http.ServerResponse }>();
  /** Called when a container starts; by default it just runs. */
  onStart: (container: FakeContainer) => void = () => undefined;
  /** Lines of the pull progress stream for an image. */
  pullStream: (fromImage: string, tag: string) => object[] = () => [
    { status: 'Pulling fs layer' },
    { status: 'Download complete' },
  ];

  private server!: http.Server;
  private dir: string | undefined;
  socketPath = '';
  port = 0;

  static async unix(): Promise<FakeEngine> {
    const engine = new FakeEngine();
    engine.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flame-fake-'));
    engine.socketPath = path.join(engine.dir, 'docker.sock');
    await engine.listen((server, done) => server.listen(engine.socketPath, done));
    return engine;
  }

  static async tcp(): Promise<FakeEngine> {
    const engine = new FakeEngine();
    await engine.listen((server, done) => server.listen(0, '127.0.0.1', done));
    engine.port = (engine.server.address() as net.AddressInfo).port;
    return engine;
  }

  private listen(bind: (server: http.Server, done: () => void) => void): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    return new Promise((resolve) => bind(this.server, resolve));
  }

  async close(): Promise<void> {
    for (const { res } of this.subscribers) res.end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Requests seen, as "METHOD /path". */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  addContainer(fields: Partial<FakeContainer> & { name: string }): FakeContainer {
    const container: FakeContainer = {
      id: randomBytes(32).toString('hex'),
      hostname: fields.name,
      labels: {},
      body: {},
      state: 'running',
      exitCode: 0,
      oomKilled: false,
      startedAt: '2024-01-01T00:00:00.000000000Z',
      autoRemove: false,
      networks: ['flame-net'],
      attachers: [],
      waiters: [],
      ...fields,
    };
    this.containers.set(container.id, container);
    return container;
  }

  find(nameOrId: string): FakeContainer | undefined {
    const key = decodeURIComponent(nameOrId).replace(/^\//, '');
    for (const c of this.containers.values()) {
      if (c.id === key || c.name === key) return c;
    }
    if (key.length >= 4) {
      for (const c of this.containers.values()) if (c.id.startsWith(key)) return c;
    }
    return undefined;
  }

  /** Writes a multiplexed output frame to everyone attached. */
  output(container: FakeContainer, stream: 'stdout' | 'stderr', text: string): void {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream === 'stdout' ? 1 : 2;
    header.writeUInt32BE(payload.length, 4);
    for (const res of container.attachers) res.write(Buffer.concat([header, payload]));
  }

  /** Ends a running container; `oom` makes it an out-of-memory kill, as the kernel's. */
  exit(container: FakeContainer, code: number, { oom = false } = {}): void {
    if (container.state !== 'running') return;
    container.state = 'exited';
    container.exitCode = code;
    container.oomKilled = oom;
    if (oom) this.emit(container, 'oom', {});
    this.emit(container, 'die', { exitCode: String(code) });
    for (const res of container.attachers) res.end();
    container.attachers = [];
    this.settleWaiters(container, ['next-exit', 'not-running']);
    if (container.autoRemove) setTimeout(() => this.remove(container), 5);
  }

  remove(container: FakeContainer): void {
    if (!this.containers.delete(container.id)) return;
    for (const res of container.attachers) res.end();
    this.settleWaiters(container, ['next-exit', 'not-running', 'removed']);
  }

  /** Sends a container event, in the daemon's shape, to the streams that follow it. */
  private emit(container: FakeContainer, action: string, attributes: Record<string, string>): void {
    const event = {
      Type: 'container',
      Action: action,
      Actor: { ID: container.id, Attributes: { ...container.labels, ...attributes } },
      time: Math.floor(Date.now() / 1000),
    };
    for (const { ids, res } of this.subscribers) {
      if (ids.length === 0 || ids.includes(container.id)) res.write(`${JSON.stringify(event)}\n`);
    }
  }

  private settleWaiters(container: FakeContainer, conditions: string[]): void {
    const body = JSON.stringify({ StatusCode: container.exitCode, Error: null });
    container.waiters = container.waiters.filter((waiter) => {
      if (!conditions.includes(waiter.condition)) return true;
      waiter.res.end(body);
      return false;
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname.replace(/^\/v\d+\.\d+/, ''),
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
    };
    this.requests.push(recorded);

    for (const route of this.routes) {
      if (await route(recorded, res)) return;
    }
    this.route(recorded, res);
  }

  private route(req: RecordedRequest, res: http.ServerResponse): void {
    const { method, path: p, query } = req;
    const json = (status: number, body?: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const notFound = (what: string): void => json(404, { message: what });
    let m: RegExpExecArray | null;

    if (p === '/_ping') return void res.end('OK');

    if ((m = /^\/networks\/(.+)$/.exec(p)) && method === 'GET') {
      const name = decodeURIComponent(m[1]);
      return this.networks.has(name)
        ? json(200, { Name: name, Id: `id-${name}` })
        : notFound(`network ${name} not found`);
    }

    if ((m = /^\/images\/(.+)\/json$/.exec(p))) {
      return this.images.has(withTag(decodeURIComponent(m[1])))
        ? json(200, { Id: 'sha256:abc' })
        : notFound(`No such image: ${m[1]}`);
    }

    if (p === '/images/create' && method === 'POST') {
      const from = query.get('fromImage') ?? '';
      const tag = query.get('tag') ?? 'latest';
      const lines = this.pullStream(from, tag);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      for (const line of lines) res.write(`${JSON.stringify(line)}\r\n`);
      const pulled = tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`;
      if (!lines.some((line) => 'error' in line)) this.images.add(pulled);
      return void res.end();
    }

    if (p === '/containers/create' && method === 'POST') return this.create(req, json);

    if (p === '/events' && method === 'GET') {
      const filters = JSON.parse(query.get('filters') ?? '{}') as { container?: string[] };
      const subscriber = { ids: filters.container ?? [], res };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.subscribers.add(subscriber);
      res.once('close', () => this.subscribers.delete(subscriber));
      return;
    }

    if (p === '/containers/json' && method === 'GET') {
      const filters = JSON.parse(query.get('filters') ?? '{}') as { label?: string[] };
      const list = [...this.containers.values()].filter((c) =>
        (filters.label ?? []).every((f) => {
          const [k, v] = f.split('=');
          return v === undefined ? k in c.labels : c.labels[k] === v;
        }),
      );
      const summary = (c: FakeContainer) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        State: c.state,
        Labels: c.labels,
      });
      return json(200, list.map(summary));
    }

    if ((m = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(p))) {
      const container = this.find(m[1]);
      if (!container) return notFound(`No such container: ${m[1]}`);
      return this.containerAction(container, method, m[2] ?? '', query, res, json);
    }

    notFound(`fake engine has no route for ${method} ${p}`);
  }

  private create(req: RecordedRequest, json: (status: number, body?: unknown) => void): void {
    const name = req.query.get('name') ?? randomBytes(4).toString('hex');
    const body = req.body as Record<string, any>;
    if (this.find(name)) {
      return json(409, { message: `Conflict. The container name "/${name}" is already in use` });
    }
    if (!this.images.has(withTag(body.Image))) {
      return json(404, { message: `No such image: ${body.Image}` });
    }
    const network = body.HostConfig?.NetworkMode;
    if (!this.networks.has(network)) return json(404, { message: `network ${network} not found` });

    const container = this.addContainer({
      name,
      hostname: body.Hostname,
      labels: body.Labels ?? {},
      body,
      state: 'created',
      autoRemove: body.HostConfig?.AutoRemove === true,
      networks: [network],
    });
    json(201, { Id: container.id, Warnings: [] });
  }

  private containerAction(
    c: FakeContainer,
    method: string,
    action: string,
    query: URLSearchParams,
    res: http.ServerResponse,
    json: (status: number, body?: unknown) => void,
  ): void {
    if (action === '' && method === 'GET') return;
    if (action === '/json') {
      return json(200, {
        Id: c.id,
        Name: `/${c.name}`,
        Config: { Hostname: c.hostname, Labels: c.labels },
        State: {
          Running: c.state === 'running',
          ExitCode: c.exitCode,
          OOMKilled: c.oomKilled,
          StartedAt: c.startedAt,
        },
        NetworkSettings: { Networks: Object.fromEntries(c.networks.map((n) => [n, {}])) },
      });
    }
    if (action === '' && method === 'DELETE') {
      if (c.state === 'running' && query.get('force') !== 'true') {
        return json(409, { message: 'container is running' });
      }
      this.remove(c);
      return json(204);
    }
    if (action === '/attach') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      res.flushHeaders();
      if (c.state === 'exited') return void res.end();
      c.attachers.push(res);
      return;
    }
    if (action === '/wait') {
      const condition = query.get('condition') ?? 'not-running';
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      if (condition === 'not-running' && c.state !== 'running') {
        return void res.end(JSON.stringify({ StatusCode: c.exitCode, Error: null }));
      }
      c.waiters.push({ condition, res });
      return;
    }
    if (action === '/start') {
      if (c.state === 'running') return json(304);
      c.state = 'running';
      c.startedAt = new Date().toISOString();
      json(204);
      return this.onStart(c);
    }
    if (action === '/stop') {
      if (c.state !== 'running') return json(304);
      json(204);
      return this.exit(c, 143);
    }
    if (action === '/kill') {
      if (c.state !== 'running') return json(409, { message: `Container ${c.id} is not running` });
      json(204);
      return this.exit(c, 137);
    }
    json(404, { message: `fake engine has no action ${method} ${action}` });
  }
}

function withTag(image: string): string {
  if (image.includes('@')) return image;
  return image.lastIndexOf(':') > image.lastIndexOf('/') ? image : `${image}:latest`;
}

/** A server that accepts connections and never answers. */
export async function silentServer(socketPath: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
