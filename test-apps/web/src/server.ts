import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { EventHub } from './events';
import { GRID_SIZE, type Painter } from './painter';
import type { ColourStore } from './store';

/** The page's files, beside dist/ (docker/stage-app.sh copies public/ into the image). */
const PUBLIC_DIR = path.join(__dirname, '..', 'public');

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/app.css': 'app.css',
  '/app.js': 'app.js',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

// The page loads nothing from elsewhere and runs no inline script.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Parts {
  painter: Painter;
  store: ColourStore;
  hub: EventHub;
  /** True once the app is shutting down: new tasks are refused. */
  closing: () => boolean;
}

/**
 * The app's HTTP server:
 * - `GET /` the page, `GET /app.css`, `GET /app.js`
 * - `GET /events` Server-Sent Events: `snapshot` first, then `status`, `colour`, `failure`
 * - `POST /tasks` starts a task and answers 202 at once; `POST /tasks?fail=1` one that fails
 * - `GET /api/colours` the last 50 colours as JSON, newest first
 * - `GET /healthz` 200 with the counters
 */
export function createWebServer(parts: Parts): Server {
  const assets = loadAssets();

  return createServer((req, res) => {
    try {
      route(req, res, parts, assets);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) json(res, 500, { error: message });
      else res.destroy();
    }
  });
}

function route(
  req: IncomingMessage,
  res: ServerResponse,
  parts: Parts,
  assets: Map<string, Buffer>,
): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const asset = ASSETS[url.pathname];

  if (asset !== undefined) {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': TYPES[path.extname(asset)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : assets.get(asset));
    return;
  }

  switch (url.pathname) {
    case '/events':
      if (method !== 'GET') return notAllowed(res, 'GET');
      return parts.hub.open(res, { event: 'snapshot', data: parts.painter.snapshot() });

    case '/tasks': {
      if (method !== 'POST') return notAllowed(res, 'POST');
      if (parts.closing()) return json(res, 503, { error: 'the app is shutting down' });
      // The request has no body to wait for; drain whatever a client sent anyway.
      req.resume();
      const fail = url.searchParams.get('fail');
      const job = parts.painter.spawn({ fail: fail === '1' || fail === 'true' });
      return json(res, 202, { job, pending: parts.painter.pending });
    }

    case '/api/colours':
      if (method !== 'GET') return notAllowed(res, 'GET');
      return json(res, 200, parts.store.recent(GRID_SIZE));

    case '/healthz':
      if (method !== 'GET') return notAllowed(res, 'GET');
      return json(res, parts.closing() ? 503 : 200, {
        ok: !parts.closing(),
        ...parts.painter.status(),
        pages: parts.hub.size,
      });

    default:
      return json(res, 404, { error: `no route for ${method} ${url.pathname}` });
  }
}

function loadAssets(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of new Set(Object.values(ASSETS))) {
    files.set(name, readFileSync(path.join(PUBLIC_DIR, name)));
  }
  return files;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  json(res, 405, { error: `use ${allow}` });
}
