import {
  FlameError,
  FrameTooLargeError,
  ProtocolError,
  RemoteError,
  SerializationError,
  TaskLoadError,
  TaskNotFoundError,
} from './errors';
import type { WireError } from './wire/protocol';

/** Turns anything thrown into the shape that crosses the wire. */
export function toWireError(error: unknown): WireError {
  // What the caller needs of a load failure is the module's own error, not the loader's
  // stack: it crosses as that error, marked by flame's code.
  if (error instanceof TaskLoadError) {
    const { name, message, stack } = error.moduleError;
    const wire: WireError = { name, message, code: error.code };
    if (stack !== undefined) wire.stack = stack;
    return wire;
  }
  if (error instanceof Error) {
    const wire: WireError = { name: error.name, message: error.message };
    if (error.stack !== undefined) wire.stack = error.stack;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') wire.code = code;
    return wire;
  }
  return { name: 'Error', message: `non-error value thrown: ${describe(error)}` };
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/** Rebuilds a runner's error as the typed error the caller should see. */
export function fromWireError(task: string, origin: 'task' | 'flame', wire: WireError): FlameError {
  if (origin === 'task') return new RemoteError(task, wire);

  switch (wire.code) {
    case 'FLAME_ERR_TASK_NOT_FOUND':
      return new TaskNotFoundError(task, stripTaskPrefix(wire.message));
    case 'FLAME_ERR_TASK_LOAD':
      return new TaskLoadError(task, { name: wire.name, message: wire.message, stack: wire.stack });
    case 'FLAME_ERR_SERIALIZATION':
      return new SerializationError(wire.message);
    case 'FLAME_ERR_FRAME_TOO_LARGE':
      return new FrameTooLargeError(wire.message);
    default:
      return new ProtocolError(`runner failed call to ${task}: ${wire.message}`);
  }
}

function stripTaskPrefix(message: string): string {
  return message.replace(/^task ".*?": /, '');
}
