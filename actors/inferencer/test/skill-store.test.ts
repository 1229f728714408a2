import { startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoredForecast } from '../src/skill/scores.js';
import { SKILL_BUCKET, SKILL_TOPOLOGY, SkillStore, skillKey } from '../src/skill/store.js';

const KEY = { model: 'kronos-test', version: '1', inst: 'BTC-USDT-SWAP', tf: '1m' };
const scores = { crps: 1, brier: 0.25, mae: 1, hit: 0.5 };

function scored(asOf: number): ScoredForecast {
  return {
    asOf,
    pUpRaw: 0.5,
    pUp: 0.5,
    up: 1,
    model: scores,
    cover80: 1,
    cover90: 1,
    conformal: [0],
    baselines: { persistence: scores, 'random-walk': scores },
  };
}

/**
 * The skill record in KV with two replicas scoring the same series: a write builds on the record
 * this replica last wrote (no read first), and a write by the other replica in between makes that
 * compare-and-set fail, so the retry merges instead of overwriting.
 */
describe('skill store', () => {
  let nats: TestNats;

  beforeAll(async () => {
    nats = await startTestNats();
    await nats.bus.provision(SKILL_TOPOLOGY);
  }, 30_000);

  afterAll(async () => {
    await nats?.stop();
  });

  it('merges what another replica wrote since, and keeps its own writes to one round trip each', async () => {
    const a = new SkillStore(nats.bus);
    const b = new SkillStore(nats.bus);
    await a.load(KEY, 50);
    await b.load(KEY, 50);
    await a.add(KEY, [scored(1)], 50, 10);
    await a.add(KEY, [scored(2)], 50, 11);
    // b's cached revision is the empty key's: its write must not drop a's two entries.
    const merged = await b.add(KEY, [scored(3)], 50, 12);
    expect(merged.entries.map((e) => e.asOf)).toEqual([1, 2, 3]);
    // And a, now behind b, merges b's entry into its next write.
    const again = await a.add(KEY, [scored(4)], 50, 13);
    expect(again.entries.map((e) => e.asOf)).toEqual([1, 2, 3, 4]);
    const kv = await nats.bus.kv(SKILL_BUCKET);
    const stored = (await kv.get(skillKey(KEY)))?.json<{ entries: ScoredForecast[] }>();
    expect(stored?.entries.map((e) => e.asOf)).toEqual([1, 2, 3, 4]);
  }, 30_000);
});
