// Node module-resolution hooks (run in the loader thread): a plugin's imports of packages the host
// provides resolve to the host's own copy, wherever the plugin lives. Plain JavaScript because the
// loader thread does not run through tsx. `initialize` receives `{provided: {specifier: url}}`.
let provided = {};

export function initialize(data) {
  provided = data?.provided ?? {};
}

export async function resolve(specifier, context, nextResolve) {
  const url = provided[specifier];
  if (url) return { url, shortCircuit: true, ...(url.endsWith('.ts') ? {} : { format: 'module' }) };
  return nextResolve(specifier, context);
}
