#!/usr/bin/env node
/*
 * Attaches a terminal to a runner's REPL: `node dist/attach.js [runnerId | socket path]`.
 * Inside a runner container there is one runner, so no argument is needed:
 *   docker exec -it <runner container> node /app/packages/core/dist/attach.js
 */
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

function findSocket(hint: string | undefined): string {
  if (hint?.includes('/')) return hint;
  const sockets = readdirSync(tmpdir())
    .filter((name) => /^flame-runner-.*\.sock$/.test(name))
    .filter((name) => hint === undefined || name.includes(hint));
  if (sockets.length !== 1) {
    const found = sockets.length === 0 ? 'none' : sockets.join(', ');
    process.stderr.write(
      `attach: expected one runner REPL socket in ${tmpdir()}, found ${found}.\n` +
        'Runners open one when started with FLAME_RUNNER_REPL=1; name a runner id to choose.\n',
    );
    process.exit(2);
  }
  return path.join(tmpdir(), sockets[0]!);
}

const socket = connect(findSocket(process.argv[2]));
socket.on('error', (error) => {
  process.stderr.write(`attach: ${error.message}\n`);
  process.exit(1);
});
socket.on('connect', () => {
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
});
socket.on('close', () => process.exit(0));
