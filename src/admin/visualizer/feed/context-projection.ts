/**
 * A readable, JSON-safe view of an actor's context for the detail panel:
 * plain fields as they are, Maps and Sets as their size and first entries,
 * arrays cut short, live objects (the router, sockets, requests) by their
 * class name, depth bounded. Generic on purpose: a new machine's context
 * shows without a projection written for it.
 */
import type { JsonValue } from '../../../protocol/index.js';

const MAX_DEPTH = 3;
const MAX_ENTRIES = 12;
const MAX_KEYS = 30;
const MAX_STRING = 200;

export function projectContext(_kind: string, context: unknown): JsonValue | undefined {
  return project(context, 0);
}

function project(value: unknown, depth: number): JsonValue {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    case 'number':
      return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'function':
      return `[function ${(value as { name?: string }).name ?? ''}]`;
    case 'symbol':
      return value.toString();
    default:
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (Array.isArray(object)) {
    if (depth >= MAX_DEPTH) return `[${object.length} items]`;
    const items = object.slice(0, MAX_ENTRIES).map((item) => project(item, depth + 1));
    if (object.length > MAX_ENTRIES) items.push(`… ${object.length - MAX_ENTRIES} more`);
    return items;
  }
  if (object instanceof Map) {
    if (depth >= MAX_DEPTH) return `[Map of ${object.size}]`;
    const entries: JsonValue[] = [];
    for (const [key, item] of object) {
      if (entries.length === MAX_ENTRIES) break;
      entries.push([project(key, depth + 1), project(item, depth + 1)]);
    }
    return { size: object.size, entries };
  }
  if (object instanceof Set) {
    if (depth >= MAX_DEPTH) return `[Set of ${object.size}]`;
    return { size: object.size, values: [...object].slice(0, MAX_ENTRIES).map((item) => project(item, depth + 1)) };
  }
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name}]`;
  const prototype: unknown = Object.getPrototypeOf(object);
  const plain = prototype === Object.prototype || prototype === null;
  // A class instance deep down is a live object (a router, a socket, a request): its name says enough.
  if (!plain && depth >= 1) return `[${object.constructor.name}]`;
  if (depth >= MAX_DEPTH) return '{…}';
  const projected: Record<string, JsonValue> = {};
  let keys = 0;
  for (const [key, item] of Object.entries(object)) {
    if (typeof item === 'function') continue;
    if (keys++ === MAX_KEYS) {
      projected['…'] = 'more fields';
      break;
    }
    projected[key] = project(item, depth + 1);
  }
  return projected;
}
