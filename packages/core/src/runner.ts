#!/usr/bin/env node
/*
 * The runner entrypoint: `node dist/runner.js`. A backend starts it with FLAME_PARENT and
 * FLAME_COOKIE in its environment; it dials the parent and serves calls until it is told
 * to stop or loses the parent.
 */
import './runner-prelude';
import { RunnerAgent } from './agent';

function fail(reason: string, error: unknown, agent?: RunnerAgent): void {
  if (agent) {
    agent.log.fatal({ err: error }, reason);
    agent.stop(reason, 1);
  } else {
    process.stderr.write(`flame runner: ${reason}: ${(error as Error)?.message ?? error}\n`);
    process.exit(1);
  }
}

let agent: RunnerAgent | undefined;
try {
  agent = RunnerAgent.fromEnv();
} catch (error) {
  fail('cannot start', error);
}

if (agent) {
  const running = agent;
  process.on('SIGTERM', () => running.stop('SIGTERM received'));
  process.on('SIGINT', () => running.stop('SIGINT received'));
  process.on('uncaughtException', (error) => fail('uncaught exception in a task', error, running));
  process.on('unhandledRejection', (error) =>
    fail('unhandled rejection in a task', error, running),
  );
  running.start().catch((error: unknown) => fail('could not serve the parent', error, running));
}
