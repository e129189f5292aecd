/**
 * Reading a YAML config file into its top-level entries, each with the line
 * it is on (and the line of each list item), so every error can name
 * `file:line`. What the keys mean is checked by the caller against the schema.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export interface FileEntry {
  readonly key: string;
  /** The value as plain data (strings, numbers, booleans, lists, maps). */
  readonly value: unknown;
  readonly line: number;
  /** For a list value: the line of each item, in order. */
  readonly itemLines: readonly number[];
}

export interface ConfigFileContents {
  readonly path: string;
  readonly entries: readonly FileEntry[];
  /** Problems that stop the file from being read at all, already naming `file:line`. */
  readonly errors: readonly string[];
}

export function readConfigFile(path: string): ConfigFileContents {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { path, entries: [], errors: [`${path}: cannot be read (${typeof code === 'string' ? code : String(error)})`] };
  }
  return parseConfigText(path, source);
}

/** The file's text, parsed; separate from the read so tests need no file. */
export function parseConfigText(path: string, source: string): ConfigFileContents {
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number => lines.linePos(node?.range?.[0] ?? 0).line;
  if (document.errors.length > 0) {
    const errors = document.errors.map((error) => {
      const line = lines.linePos(error.pos[0]).line;
      return `${path}:${line}: not valid YAML: ${error.message.split('\n')[0] ?? error.code}`;
    });
    return { path, entries: [], errors };
  }
  const contents = document.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return { path, entries: [], errors: [] };
  if (!isMap(contents)) {
    return { path, entries: [], errors: [`${path}:${lineOf(contents)}: the file must be a map of settings (key: value)`] };
  }
  const entries: FileEntry[] = [];
  const errors: string[] = [];
  for (const pair of contents.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? keyNode.value : null;
    if (typeof key !== 'string') {
      errors.push(`${path}:${lineOf(keyNode)}: a key must be a setting name`);
      continue;
    }
    const valueNode = pair.value as Node | null;
    let value: unknown = null;
    try {
      value = valueNode === null ? null : (valueNode.toJS(document) as unknown);
    } catch (error) {
      // The yaml package refuses some documents only here (an alias bomb: "Excessive alias count").
      errors.push(`${path}:${lineOf(keyNode)}: ${key}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    entries.push({
      key,
      value,
      line: lineOf(keyNode),
      itemLines: isSeq(valueNode) ? valueNode.items.map((item) => lineOf(item as Node)) : [],
    });
  }
  return { path, entries, errors };
}
