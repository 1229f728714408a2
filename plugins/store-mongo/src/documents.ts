import type { HistoryCollection, HistoryWrite } from '@kokex/core';

/**
 * The documents a list of writes leaves, with MongoDB's upsert semantics and without a server: a
 * document is created once per key (with `insert`), `set` fields (dotted paths reach into
 * sub-documents) are written every time, `min`/`max` keep the smaller or larger value.
 */
export function documentsOf(
  writes: readonly HistoryWrite[],
): Array<{ collection: HistoryCollection; key: HistoryWrite['key']; doc: Record<string, unknown> }> {
  const docs = new Map<string, { collection: HistoryCollection; key: HistoryWrite['key']; doc: Record<string, unknown> }>();
  for (const w of writes) {
    const id = `${w.collection} ${JSON.stringify(w.key)}`;
    const entry = docs.get(id) ?? { collection: w.collection, key: w.key, doc: { ...w.key, ...(w.insert ?? {}) } };
    docs.set(id, entry);
    const target = entry.doc;
    for (const [path, value] of Object.entries(w.set ?? {})) setPath(target, path, value);
    for (const [path, value] of Object.entries(w.min ?? {}))
      if (!(path in target) || (value as number) < (target[path] as number)) target[path] = value;
    for (const [path, value] of Object.entries(w.max ?? {}))
      if (!(path in target) || (value as number) > (target[path] as number)) target[path] = value;
  }
  return [...docs.values()];
}

/** `$set` with a dotted path, as MongoDB does: missing levels become objects. */
function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = doc;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) as string] = value;
}
