import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { ANY, fetchArtifact, latestModel, ModelNotFoundError, registerModel, registerModelDirectory } from '../src/index.js';
import { startTestNats, type TestNats } from '../src/testing/index.js';

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('model registry', () => {
  it('serves the most specific unexpired version and refuses expired ones with the reason', async () => {
    const now = Date.UTC(2026, 10, 21);
    const files = { 'a.onnx': new Uint8Array([1, 2, 3]), 'card.json': new TextEncoder().encode('{}') };
    await expect(latestModel(nats.bus, 'kronos', 'BTC-USDT', '1H', now)).rejects.toThrow(ModelNotFoundError);
    const general = await registerModel(
      nats.bus,
      { name: 'kronos', inst: ANY, tf: ANY, version: 'v-general', card: {}, registeredAt: now, expiresAt: now + 1000 },
      files,
    );
    expect(general.artifacts['a.onnx']).toBe('kronos/v-general/a.onnx');
    expect((await latestModel(nats.bus, 'kronos', 'BTC-USDT', '1H', now)).version).toBe('v-general');
    await registerModel(
      nats.bus,
      { name: 'kronos', inst: 'BTC-USDT', tf: '1H', version: 'v-btc', card: {}, registeredAt: now, expiresAt: now + 10 },
      files,
    );
    expect((await latestModel(nats.bus, 'kronos', 'BTC-USDT', '1H', now)).version).toBe('v-btc');
    // Past the specific model's expiry the general one serves; past both, nothing does.
    expect((await latestModel(nats.bus, 'kronos', 'BTC-USDT', '1H', now + 100)).version).toBe('v-general');
    await expect(latestModel(nats.bus, 'kronos', 'BTC-USDT', '1H', now + 5000)).rejects.toThrow(
      /v-btc.*expired.*v-general.*expired|expired/,
    );
    expect([...(await fetchArtifact(nats.bus, 'kronos/v-btc/a.onnx'))]).toEqual([1, 2, 3]);
    await expect(fetchArtifact(nats.bus, 'kronos/nope/a.onnx')).rejects.toThrow(/missing/);
  });

  it('registers the shipped model directory once per version', async () => {
    const dir = resolve(__dirname, '../../models/kronos/shipped');
    const first = await registerModelDirectory(nats.bus, dir, { name: 'shipped-test', maxAgeMs: 60_000 });
    expect(Object.keys(first.artifacts).sort()).toEqual([
      'card.json',
      'config.json',
      'predictor_s1.onnx',
      'predictor_s1_kv.onnx',
      'predictor_s2.onnx',
      'tokenizer_decode.onnx',
      'tokenizer_decode_kv.onnx',
      'tokenizer_encode.onnx',
    ]);
    expect(first.version).toMatch(/^[0-9a-f]{64}$/);
    const again = await registerModelDirectory(nats.bus, dir, { name: 'shipped-test', maxAgeMs: 60_000, now: first.registeredAt + 5000 });
    expect(again.artifacts).toEqual(first.artifacts);
    expect(again.expiresAt).toBe(first.registeredAt + 65_000);
    const graph = await fetchArtifact(nats.bus, first.artifacts['predictor_s2.onnx']!);
    expect(graph.byteLength).toBeGreaterThan(100_000);
    await expect(registerModelDirectory(nats.bus, __dirname, { maxAgeMs: 1 })).rejects.toThrow(/no readable card.json/);
  });
});
