/**
 * The import graph of src/: no circles, and the vocabulary (src/protocol/)
 * depends on nothing but itself. Read from the sources, so a new circle fails
 * here rather than in a reader's head.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

// Compiled to dist/test/unit/: the sources are three levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Local imports of each file (type-only ones too: a circle of types is still a circle for a reader). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
      targets.push(resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts')));
    }
    graph.set(file, targets);
  }
  return graph;
}

const name = (file: string): string => relative(ROOT, file);

test('src/ has no import circles', (t) => {
  const graph = importGraph();
  const done = new Set<string>();
  const onPath: string[] = [];
  const circles: string[] = [];
  const visit = (file: string): void => {
    const at = onPath.indexOf(file);
    if (at >= 0) {
      circles.push([...onPath.slice(at), file].map(name).join(' → '));
      return;
    }
    if (done.has(file)) return;
    onPath.push(file);
    for (const target of graph.get(file) ?? []) visit(target);
    onPath.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  t.deepEqual(circles, []);
});

test('src/protocol/ imports nothing outside itself', (t) => {
  const protocol = join(SRC, 'protocol');
  const outside: string[] = [];
  for (const [file, targets] of importGraph()) {
    if (!file.startsWith(protocol)) continue;
    for (const target of targets) if (!target.startsWith(protocol)) outside.push(`${name(file)} → ${name(target)}`);
  }
  t.deepEqual(outside, []);
});
