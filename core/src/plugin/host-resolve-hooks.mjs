// Node module-resolution hooks (run in the loader thread). Plain JavaScript because the loader
// thread does not run through tsx. `initialize` receives `{provided: {specifier: url}, conditions}`.
//
// - A plugin's imports of packages the host provides resolve to the host's own copy, wherever the
//   plugin lives.
// - `conditions` are added to every resolution (the source condition when the host runs from its
//   TypeScript sources, so workspace libraries a plugin imports resolve to their sources too).
// - A module loaded with `?kokex-plugin=N` (the compiled loader's fresh namespace for load N) passes
//   the same tag to every file it imports outside node_modules, so a reload evaluates all of a
//   plugin's files again while the old version keeps running from its own copies.
let provided = {};
let conditions = [];
const TAG = 'kokex-plugin';

export function initialize(data) {
  provided = data?.provided ?? {};
  conditions = data?.conditions ?? [];
}

function tagOf(url) {
  if (!url?.startsWith('file:')) return undefined;
  const q = url.indexOf('?');
  return q < 0 ? undefined : (new URLSearchParams(url.slice(q + 1)).get(TAG) ?? undefined);
}

export async function resolve(specifier, context, nextResolve) {
  const url = provided[specifier];
  if (url) return { url, shortCircuit: true, ...(url.endsWith('.ts') ? {} : { format: 'module' }) };
  const ctx = conditions.length ? { ...context, conditions: [...new Set([...(context.conditions ?? []), ...conditions])] } : context;
  const result = await nextResolve(specifier, ctx);
  const tag = tagOf(context.parentURL);
  if (tag && result.url.startsWith('file:') && !result.url.includes('/node_modules/') && !result.url.includes('?')) {
    return { ...result, url: `${result.url}?${TAG}=${tag}` };
  }
  return result;
}
