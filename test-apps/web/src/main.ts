// The web test app's entry point (the image's default command). Runners never run this file:
// they run the flame-node runner agent, which loads dist/tasks/paint.js and nothing else.
import type { Server } from 'node:http';
import { readConfig } from './config';
import { EventHub } from './events';
import { Painter } from './painter';
import { createPool } from './pool';
import { createWebServer } from './server';
import { ColourStore } from './store';

async function main(): Promise<void> {
  const config = readConfig();
  const store = new ColourStore(config.dbPath);
  const hub = new EventHub();
  let painter: Painter | undefined;
  const pool = createPool(config, () => painter?.publishStatus());
  painter = new Painter({ pool, store, hub, taskMs: config.taskMs });
  const log = pool.logger.child({ component: 'web' });

  let closing = false;
  const server = createWebServer({ painter, store, hub, closing: () => closing });
  await listen(server, config.port, config.host);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  log.info({ port, db: store.file, backend: config.backend, max: config.max }, 'web app listening');
  // One plain line whatever the log level, for people and for scripts waiting on it.
  process.stdout.write(`web app on http://${config.host}:${port} (${config.backend} runners)\n`);

  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    // Tasks in flight get the pool's shutdownTimeout to finish (their colours are still
    // saved); the pages' streams end so that the server can close.
    const serverClosed = new Promise((resolve) => server.close(resolve));
    hub.close();
    server.closeIdleConnections();
    await pool.close();
    await serverClosed;
    store.close();
    log.info('stopped');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`web app: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
