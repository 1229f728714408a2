import { describe, expect, it } from 'vitest';
import { AdapterRegistry, adapterFor } from '../src/index.js';

describe('adapter registry', () => {
  it('imports a lazily announced adapter on first resolve, once, and caches instances per config', async () => {
    const registry = new AdapterRegistry();
    let loads = 0;
    let creates = 0;
    registry.registerLazy('llm', 'echo', async () => {
      loads++;
      return { port: 'llm', name: 'echo', create: (config) => ({ id: ++creates, config }) };
    });
    expect(registry.has('llm', 'echo')).toBe(true);
    expect(loads).toBe(0);
    const a = await registry.resolve<{ id: number }>('llm', 'echo', { model: 'x' });
    const b = await registry.resolve<{ id: number }>('llm', 'echo', { model: 'x' });
    const c = await registry.resolve<{ id: number }>('llm', 'echo', { model: 'y' });
    expect(loads).toBe(1);
    expect(a).toBe(b);
    expect(c.id).not.toBe(a.id);
    await expect(registry.resolve('llm', 'nope')).rejects.toThrow(/no llm adapter named "nope"/);
  });
});

describe('adapterFor', () => {
  it('puts what the plan derives over the actor settings, and the plan mode over both', async () => {
    const registry = new AdapterRegistry();
    registry.register({ port: 'exchange', name: 'echo', create: (config) => ({ config }) });
    const { config } = await adapterFor<{ config: Record<string, unknown> }>(
      registry,
      'exchange',
      { name: 'echo', mode: 'sim', config: { simPort: 2, account: 'p' } },
      { echo: { simPort: 1, mode: 'live', apiBase: 'x' }, other: { simPort: 9 } },
    );
    expect(config).toEqual({ simPort: 2, account: 'p', apiBase: 'x', mode: 'sim' });
  });
});
