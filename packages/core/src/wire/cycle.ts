/*
 * The codec learns that a value is circular only when msgpackr overflows the call stack,
 * which a value nested deeply enough does too. This walk tells the two apart after the
 * fact, so ordinary values pay nothing for it. It keeps its own stack instead of recursing,
 * since the value it is given was just too deep for the encoder's recursion.
 */

/** Where a value refers back to a container that holds it. */
export interface Cycle {
  /** The path of the reference, e.g. `value.items[2].parent`. */
  readonly at: string;
  /** The path of the container it refers back to, e.g. `value.items`. */
  readonly to: string;
}

interface Step {
  readonly container: object;
  /** How this container is reached from the one below it on the stack, e.g. `[2]`. */
  readonly edge: string;
  readonly children: Iterator<[string, unknown]>;
}

/**
 * Finds a reference from inside `root` back to one of the containers on the way to it,
 * following what the codec writes: array items, object keys, Map keys and values, Set
 * members, and an Error's `code` and `errors`.
 */
export function findCycle(root: unknown): Cycle | undefined {
  if (!isContainer(root)) return undefined;

  // A container on the current path maps to its place on the stack. One fully walked
  // without a cycle is not walked again, so shared branches do not multiply the work.
  const open = new Map<object, number>([[root, 0]]);
  const done = new Set<object>();
  const stack: Step[] = [{ container: root, edge: '', children: childrenOf(root) }];

  while (stack.length > 0) {
    const step = stack[stack.length - 1]!;
    const next = step.children.next();
    if (next.done) {
      stack.pop();
      open.delete(step.container);
      done.add(step.container);
      continue;
    }

    const [edge, child] = next.value;
    if (!isContainer(child) || done.has(child)) continue;
    const ancestor = open.get(child);
    if (ancestor !== undefined) {
      return { at: pathOf(stack, stack.length) + edge, to: pathOf(stack, ancestor + 1) };
    }
    open.set(child, stack.length);
    stack.push({ container: child, edge, children: childrenOf(child) });
  }
  return undefined;
}

// Byte views, Dates and RegExps are written whole, so nothing inside them can refer back.
function isContainer(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}

function* childrenOf(container: object): Generator<[string, unknown]> {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) yield [`[${i}]`, container[i]];
  } else if (container instanceof Map) {
    let i = 0;
    for (const [key, value] of container) {
      yield [`.keys()[${i}]`, key];
      yield [describeGet(key, i++), value];
    }
  } else if (container instanceof Set) {
    let i = 0;
    for (const member of container) yield [`.values()[${i++}]`, member];
  } else if (container instanceof Error) {
    yield ['.code', (container as { code?: unknown }).code];
    if (container instanceof AggregateError) yield ['.errors', container.errors];
  } else {
    for (const key of Object.keys(container)) {
      yield [describeKey(key), (container as Record<string, unknown>)[key]];
    }
  }
}

function pathOf(stack: readonly Step[], depth: number): string {
  let path = 'value';
  for (let i = 1; i < depth; i++) path += stack[i]!.edge;
  return path;
}

function describeKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

// A Map value is named by its key when the key reads well in a path, else by its position.
function describeGet(key: unknown, index: number): string {
  if (typeof key === 'string') return `.get(${JSON.stringify(key)})`;
  if (typeof key === 'bigint') return `.get(${key}n)`;
  if (typeof key === 'number' || typeof key === 'boolean' || key == null) {
    return `.get(${String(key)})`;
  }
  return `.values()[${index}]`;
}
