import { resolve } from 'node:path';
import { AdapterRegistry, type ChatModel, type LoadedPlugin, loadPlugin } from '@kokex/core';
import { completionJson, type ScriptedServer, startScriptedServer } from '@kokex/llm-common/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: ScriptedServer;
let plugin: LoadedPlugin;
beforeAll(async () => {
  server = await startScriptedServer();
  plugin = await loadPlugin(resolve(import.meta.dirname, '..'));
});
afterAll(async () => {
  await server.close();
});

describe('the openai plugin', () => {
  it('loads through the host loader with a manifest that matches its adapter', () => {
    expect(plugin.pkg.manifest.adapters).toEqual([{ port: 'llm', name: 'openai' }]);
    expect(plugin.definition.adapters?.map((a) => `${a.port}:${a.name}`)).toEqual(['llm:openai']);
  });

  it('is resolved by name from the adapter registry as a chat model with bindTools', async () => {
    const registry = new AdapterRegistry();
    for (const adapter of plugin.definition.adapters ?? []) registry.register(adapter);
    server.reply({ json: completionJson({ content: 'pong' }, { prompt: 1, completion: 1 }, 'llama3.1:8b') });
    const model = await registry.resolve<ChatModel>('llm', 'openai', { baseUrl: `${server.url}/v1`, model: 'llama3.1:8b' });
    expect(typeof model.bindTools).toBe('function');
    expect((await model.invoke('ping')).content).toBe('pong');
    await expect(registry.resolve('llm', 'openai', { baseUrl: 'not a url' })).rejects.toMatchObject({ code: 'KOKEX_ADAPTER_CONFIG' });
    // A key is never config: the strict schema refuses the field.
    await expect(registry.resolve('llm', 'openai', { model: 'gpt-4o', apiKey: 'sk-x' })).rejects.toMatchObject({
      code: 'KOKEX_ADAPTER_CONFIG',
    });
  });
});
