import { STOPPING_MESSAGE, tailLine } from './runner-log';

/**
 * Every error flame-node raises is a `FlameError`. Each subclass has a stable `code`
 * (`FLAME_ERR_...`) that callers can switch on; the message is for people and may change.
 */
export class FlameError extends Error {
  /** Stable machine-readable code, e.g. `FLAME_ERR_CALL_TIMEOUT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** What a task threw on the runner, rebuilt on the caller's side. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack?: string;
  code?: string | number;
}

/**
 * The task threw (or rejected). `remoteName`, `message`, `remoteCode` and `remoteStack` are the
 * task's own; `stack` is the remote stack, ending in a frame naming the task. (The error is
 * made where the reply arrives, so no frame of the caller's could follow it: only
 * flame-node's own, which are left out.)
 */
export class RemoteError extends FlameError {
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  readonly remoteCode: string | number | undefined;
  readonly task: string;

  constructor(task: string, info: RemoteErrorInfo) {
    super('FLAME_ERR_REMOTE', info.message);
    this.task = task;
    this.remoteName = info.name;
    this.remoteStack = info.stack;
    this.remoteCode = info.code;
    if (info.stack) {
      this.stack = `${info.stack}\n    at <flame call> ${task}`;
    }
  }
}

/** The call's deadline passed (queue wait, boot and run all count). */
export class CallTimeoutError extends FlameError {
  readonly timeout: number;

  constructor(task: string, timeout: number, stage: 'queue' | 'boot' | 'run') {
    super('FLAME_ERR_CALL_TIMEOUT', `call to ${task} timed out after ${timeout} ms (${stage})`);
    this.timeout = timeout;
  }
}

/** The caller's AbortSignal fired before the call settled. */
export class CallAbortedError extends FlameError {
  constructor(task: string, cause?: unknown) {
    super('FLAME_ERR_CALL_ABORTED', `call to ${task} was aborted by the caller`, { cause });
  }
}

/** How a runner ended, as far as the backend could tell. */
export interface RunnerExitInfo {
  code?: number | null;
  signal?: string | null;
  oomKilled?: boolean;
  reason?: string;
  logTail?: string[];
}

/** Describes an exit in one phrase: "exit code 1", "killed by SIGKILL", "killed for memory". */
export function describeExit(exit: RunnerExitInfo): string {
  const parts: string[] = [];
  if (exit.oomKilled) {
    parts.push('killed for memory (OOM, exit 137)');
  } else if (exit.signal) {
    parts.push(`killed by ${exit.signal}`);
  } else if (exit.code === 137) {
    // 128 + 9: SIGKILL. Without the OOM flag it may be `docker kill` or the kernel's OOM
    // killer inside a container the engine could not inspect any more.
    const maybe = exit.oomKilled === undefined ? ': out of memory or killed' : '';
    parts.push(`killed by SIGKILL (exit 137${maybe})`);
  } else if (exit.code !== undefined && exit.code !== null) {
    parts.push(`exit code ${exit.code}`);
  }
  if (exit.reason) parts.push(exit.reason);
  // The runner agent logs why it ended: a fatal line when it died (an uncaught exception in
  // a task, say), else "runner stopping: <why>" (SIGTERM from `docker stop`, parent lost).
  // The caller should not have to dig it out of the log tail.
  const tail = exit.logTail ?? [];
  const why = lastLine(tail, 'fatal', '') ?? lastLine(tail, 'info', STOPPING_MESSAGE);
  if (why !== undefined) parts.push(`the runner said: ${why}`);
  return parts.length > 0 ? parts.join(', ') : 'connection lost';
}

/** The message of the last `level` line of a log tail that starts with `start`. */
function lastLine(tail: readonly string[], level: string, start: string): string | undefined {
  const prefix = tailLine(level, start);
  for (let i = tail.length - 1; i >= 0; i--) {
    if (tail[i]!.startsWith(prefix)) return tail[i]!.slice(tailLine(level, '').length);
  }
  return undefined;
}

/** The runner a call was on went away before the call finished. */
export class RunnerExitedError extends FlameError {
  readonly runnerId: string;
  readonly exit: RunnerExitInfo;

  constructor(runnerId: string, exit: RunnerExitInfo) {
    super('FLAME_ERR_RUNNER_EXITED', `runner ${runnerId} exited: ${describeExit(exit)}`);
    this.runnerId = runnerId;
    this.exit = exit;
  }
}

/** A runner could not be started, or did not connect back within `bootTimeout`. */
export class BootError extends FlameError {
  readonly runnerId: string;
  readonly exitCode: number | null;
  readonly logTail: string[];

  constructor(
    runnerId: string,
    message: string,
    details: { exitCode?: number | null; logTail?: string[]; cause?: unknown } = {},
  ) {
    const tail = details.logTail ?? [];
    const shown = tail.length > 0 ? `\nlast log lines:\n  ${tail.join('\n  ')}` : '';
    super('FLAME_ERR_BOOT', `runner ${runnerId} failed to boot: ${message}${shown}`, {
      cause: details.cause,
    });
    this.runnerId = runnerId;
    this.exitCode = details.exitCode ?? null;
    this.logTail = tail;
  }
}

/** The pool was closed: no new work is accepted and queued callers are released. */
export class PoolClosedError extends FlameError {
  constructor(pool: string) {
    super('FLAME_ERR_POOL_CLOSED', `pool ${pool} is closed`);
  }
}

/** A value could not be encoded (a function, a symbol, a BigInt past 64 bits, ...). */
export class SerializationError extends FlameError {
  constructor(message: string, cause?: unknown) {
    super('FLAME_ERR_SERIALIZATION', message, { cause });
  }
}

/** The peer failed the cookie handshake or did not finish it in time. */
export class HandshakeError extends FlameError {
  constructor(message: string) {
    super('FLAME_ERR_HANDSHAKE', message);
  }
}

/** The peer broke the wire protocol (bad frame, oversized frame, unknown message). */
export class ProtocolError extends FlameError {
  constructor(message: string) {
    super('FLAME_ERR_PROTOCOL', message);
  }
}

/**
 * A task name that cannot be used: malformed, outside the task root, a bare package name,
 * or a module or export that does not exist.
 */
export class TaskNotFoundError extends FlameError {
  readonly task: string;

  constructor(task: string, message: string) {
    super('FLAME_ERR_TASK_NOT_FOUND', `task ${JSON.stringify(task)}: ${message}`);
    this.task = task;
  }
}

/** Backend configuration that cannot work (missing image, unknown network, no socket...). */
export class ConfigurationError extends FlameError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLAME_ERR_CONFIG', message, options);
  }
}

/** A call's arguments or result encode to more than the frame limit; nothing was sent. */
export class FrameTooLargeError extends FlameError {
  constructor(message: string) {
    super('FLAME_ERR_FRAME_TOO_LARGE', message);
  }

  static describe(what: string, size: number, limit: number): FrameTooLargeError {
    return new FrameTooLargeError(
      `${what} is ${size} bytes encoded, over the frame limit of ${limit} bytes (maxFrameSize)`,
    );
  }
}

/** What a task's module threw while it loaded, as it crosses the wire. */
export interface ModuleErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

/**
 * A task's module exists but failed to load: a syntax error, a throw at its top level, a
 * dependency of its own that is missing. `moduleError` is what the module threw; its stack
 * names the file and line (for a syntax error, in its first lines). A module that does not
 * exist is a `TaskNotFoundError` instead.
 */
export class TaskLoadError extends FlameError {
  readonly task: string;
  readonly moduleError: ModuleErrorInfo;

  constructor(task: string, moduleError: ModuleErrorInfo, options?: { cause?: unknown }) {
    // The place goes before the module's message, which may run over several lines
    // (a missing dependency's "Require stack").
    const where = locate(moduleError);
    super(
      'FLAME_ERR_TASK_LOAD',
      `task ${JSON.stringify(task)}: its module failed to load${where ? ` at ${where}` : ''}: ` +
        `${moduleError.name}: ${moduleError.message}`,
      options,
    );
    this.task = task;
    this.moduleError = moduleError;
    // As for RemoteError: the module's stack, then a frame naming the task. The frames of
    // the place this error is made are flame-node's own and say nothing about the module.
    if (moduleError.stack) {
      this.stack = `${moduleError.stack}\n    at <flame load> ${task}`;
    }
  }
}

// The first place in a load error's stack that is the app's code: the `file:line` header V8
// puts above a syntax error's name, else the first frame that is not Node's own loader.
function locate({ name, stack }: ModuleErrorInfo): string | undefined {
  if (stack === undefined) return undefined;
  // A stack that does not start with the error's name starts with that header; a message
  // ending in a port (`connect db:5432`) must not pass for one.
  const header = /^(.+:\d+)\n/.exec(stack);
  if (header !== null && !stack.startsWith(name) && !header[1].includes(': ')) return header[1];

  for (const frame of stack.matchAll(/^\s+at (?:.* \()?(.+?:\d+:\d+)\)?$/gm)) {
    if (!frame[1].startsWith('node:')) return frame[1];
  }
  return undefined;
}
