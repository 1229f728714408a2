import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANY, fetchArtifact, latestModel, ModelNotFoundError, registerModel } from '../src/index.js';
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
});
