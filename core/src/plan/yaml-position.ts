import type { Document, LineCounter, Node } from 'yaml';
import { isAlias, isMap, isScalar, isSeq } from 'yaml';

export interface SourcePosition {
  line: number;
  column: number;
}

type PathSegment = string | number;

interface Located {
  /** The node at the full path, when it exists. */
  node?: Node;
  /** The key of the deepest pair walked through (the field's own key when the path exists). */
  key?: Node;
  /** The deepest node that exists on the path. */
  deepest?: Node;
}

function resolve(node: unknown, doc: Document): Node | undefined {
  if (isAlias(node)) return resolve(node.resolve(doc), doc);
  return (node ?? undefined) as Node | undefined;
}

function locate(doc: Document, path: readonly PathSegment[]): Located {
  let current = resolve(doc.contents, doc);
  let key: Node | undefined;
  for (const segment of path) {
    let next: Node | undefined;
    if (isMap(current)) {
      const pair = current.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return { key, deepest: current };
      key = pair.key as Node;
      next = resolve(pair.value, doc);
      // `risk:` with nothing after it: the pair exists but holds no node.
      if (!next) return { key, deepest: current, node: undefined };
    } else if (isSeq(current) && typeof segment === 'number') {
      next = resolve(current.items[segment], doc);
      key = undefined;
      if (!next) return { deepest: current };
    } else {
      return { key, deepest: current };
    }
    current = next;
  }
  return { node: current, key, deepest: current };
}

function startOf(node: Node | undefined): number | undefined {
  return node?.range?.[0];
}

/** An empty value (`risk:` with nothing after it) has no text of its own to point at. */
function isEmptyValue(node: Node | undefined): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
}

export type PositionTarget =
  /** The value at the path (a wrong type or value). */
  | 'value'
  /** The key at the path (an unknown field). */
  | 'key'
  /** The path does not exist: point at the mapping that should hold it. */
  | 'parent';

/**
 * Where in the source a field's problem should be reported. Falls back to the nearest thing that
 * exists, so every issue gets a position even when the path runs through missing sections.
 */
export function positionOf(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], target: PositionTarget): SourcePosition {
  const located = locate(doc, path);
  let offset: number | undefined;
  if (target === 'key' && located.node !== undefined) offset = startOf(located.key);
  else if (target === 'value' && located.node !== undefined && !isEmptyValue(located.node)) offset = startOf(located.node);
  else if (located.node !== undefined) offset = startOf(located.key) ?? startOf(located.node);
  else offset = startOf(located.key) ?? startOf(located.deepest);
  const { line, col } = lineCounter.linePos(offset ?? 0);
  return { line, column: col };
}
