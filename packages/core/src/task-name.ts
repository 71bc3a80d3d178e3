import { isBuiltin } from 'node:module';
import path from 'node:path';
import { TaskNotFoundError } from './errors';

/** A task name split into the module path (relative to the task root) and the export. */
export interface TaskName {
  readonly module: string;
  readonly exportName: string;
}

const EXPORT_NAME = /^[A-Za-z_$][\w$]*$/;

/**
 * Checks and splits `"path/to/module#export"` (`#export` defaults to `default`). Only
 * relative paths inside the task root are allowed: absolute paths, `..` segments, URLs,
 * package names (`child_process`, `node:fs`, anything under node_modules) and the root
 * itself (`.`) are refused here, before anything is sent or loaded. Symlinks are checked by
 * the runner when it resolves.
 */
export function parseTaskName(task: unknown): TaskName {
  if (typeof task !== 'string' || task.length === 0) {
    throw new TaskNotFoundError(String(task), 'a task name must be a non-empty string');
  }
  if (task.length > 1024 || task.includes('\0')) {
    throw new TaskNotFoundError(task, 'not a valid task name');
  }

  const hash = task.indexOf('#');
  const module = hash < 0 ? task : task.slice(0, hash);
  const exportName = hash < 0 ? 'default' : task.slice(hash + 1);
  if (!EXPORT_NAME.test(exportName)) {
    throw new TaskNotFoundError(task, `"${exportName}" is not a valid export name`);
  }

  refuseOutsideRoot(task, module);
  return { module, exportName };
}

function refuseOutsideRoot(task: string, module: string): void {
  if (module.length === 0) {
    throw new TaskNotFoundError(task, 'the module path is empty');
  }
  // Before the URL check: `node:child_process` is a built-in's name, and saying so is clearer
  // than calling it a URL. Only a path that is itself a built-in's name is refused:
  // `util/helpers` is the app's own folder, resolved inside the task root like any other.
  if (isBuiltin(module)) {
    throw new TaskNotFoundError(
      task,
      `"${module}" names a Node.js built-in module; tasks must be modules of your app`,
    );
  }
  if (
    path.isAbsolute(module) ||
    path.win32.isAbsolute(module) ||
    /^[a-z][a-z0-9+.-]*:/i.test(module)
  ) {
    throw new TaskNotFoundError(
      task,
      'absolute paths and URLs are refused: name a module inside the task root',
    );
  }

  const segments = module.split(/[\\/]/);
  if (segments.includes('..')) {
    throw new TaskNotFoundError(task, '".." escapes the task root and is refused');
  }
  if (segments.includes('node_modules')) {
    throw new TaskNotFoundError(
      task,
      'modules under node_modules are packages, not tasks, and are refused',
    );
  }
  // `.` and `./` are the task root itself, a folder: refused here so the runner never has
  // to tell the root apart from a file inside it.
  if (segments.every((segment) => segment === '' || segment === '.')) {
    throw new TaskNotFoundError(
      task,
      `"${module}" is the task root itself and names no module: ` +
        'name a file inside it, e.g. "tasks/resize#run"',
    );
  }
}
