// Adds the `kokex-source` export condition to every resolution (see source.mjs).
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions ?? [];
  if (conditions.includes('kokex-source')) return nextResolve(specifier, context);
  return nextResolve(specifier, { ...context, conditions: [...conditions, 'kokex-source'] });
}
