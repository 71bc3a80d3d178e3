import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';

/** Variable that turns the runner REPL on: `1` for the default socket path, or a path. */
export const REPL_ENV = 'FLAME_RUNNER_REPL';

/** Where a runner's REPL socket lives when `FLAME_RUNNER_REPL=1`. */
export function replSocketPath(runnerId: string): string {
  return path.join(tmpdir(), `flame-runner-${runnerId}.sock`);
}

/**
 * Opens a REPL inside the runner agent's own process on a unix socket, the way one attaches
 * a remote shell to an Erlang node. The socket is a file in this machine's (or container's)
 * temp directory, readable by its owner only: it is never reachable over the network.
 * `node dist/attach.js` connects to it.
 */
export function startRunnerRepl(
  setting: string,
  runnerId: string,
  globals: Record<string, unknown>,
  log: Logger,
): Server {
  const socketPath = setting === '1' ? replSocketPath(runnerId) : setting;
  rmSync(socketPath, { force: true });

  // Node:repl costs ~5 ms to load; only a runner with a REPL pays it.
  const repl = require('node:repl') as typeof import('node:repl');
  const server = createServer((socket) => {
    log.info({ socketPath }, 'repl attached');
    const session = repl.start({
      prompt: `flame(${runnerId})> `,
      input: socket,
      output: socket,
      terminal: true,
      useGlobal: false,
    });
    Object.assign(session.context, globals, { require });
    session.on('exit', () => socket.end());
    socket.on('error', () => session.close());
    socket.on('close', () => session.close());
  });
  server.listen(socketPath, () => chmodSync(socketPath, 0o600));
  // The REPL must never keep a runner alive on its own.
  server.unref();
  process.once('exit', () => rmSync(socketPath, { force: true }));
  return server;
}
