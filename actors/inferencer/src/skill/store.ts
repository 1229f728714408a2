import type { Bus, Topology } from '@kokex/core';
import { SkillStoreError } from '../errors.js';
import { emptyRecord, type SkillRecord, type SkillRecordKey, withScored } from './record.js';
import type { ScoredForecast } from './scores.js';

/**
 * Skill records in the `kokex-skill` KV bucket, one key per (instrument, timeframe, model, version):
 * `{inst}.{tf}.{model}.{version}`. The inferencer provisions the bucket itself on start (core's
 * topology stays untouched). Writes are compare-and-set on the entry's revision, so replicas that
 * score at the same time merge rather than overwrite each other.
 */
export const SKILL_BUCKET = 'kokex-skill';

export const SKILL_TOPOLOGY: Topology = {
  streams: [],
  kv: [{ bucket: SKILL_BUCKET, description: 'rolling forecast skill records per model version, instrument and timeframe', history: 1 }],
  objectStores: [],
};

export function skillKey(key: SkillRecordKey): string {
  return `${key.inst}.${key.tf}.${key.model}.${key.version}`;
}

/** Six significant digits are plenty for scores and keep a 500-forecast record small. */
function compact(entry: ScoredForecast): ScoredForecast {
  return JSON.parse(JSON.stringify(entry, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v)));
}

const MAX_ATTEMPTS = 8;

export class SkillStore {
  readonly #records = new Map<string, SkillRecord>();

  constructor(private readonly bus: Bus) {}

  /** The record as last read or written by this process (no I/O). */
  cached(key: SkillRecordKey): SkillRecord | undefined {
    return this.#records.get(skillKey(key));
  }

  async load(key: SkillRecordKey, window: number): Promise<SkillRecord> {
    const name = skillKey(key);
    try {
      const kv = await this.bus.kv(SKILL_BUCKET);
      const entry = await kv.get(name);
      const record = entry?.operation === 'PUT' && entry.length > 0 ? entry.json<SkillRecord>() : emptyRecord(key, window);
      this.#records.set(name, record);
      return record;
    } catch (err) {
      throw new SkillStoreError(name, err);
    }
  }

  /** Adds scored forecasts to the record, retrying on a concurrent writer; returns the merged record. */
  async add(key: SkillRecordKey, scored: readonly ScoredForecast[], window: number, now: number): Promise<SkillRecord> {
    const name = skillKey(key);
    const entries = scored.map(compact);
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        const kv = await this.bus.kv(SKILL_BUCKET);
        const current = await kv.get(name);
        const exists = current?.operation === 'PUT' && current.length > 0;
        const base = exists ? current.json<SkillRecord>() : emptyRecord(key, window);
        const next = withScored(base, entries, window, now);
        const bytes = new TextEncoder().encode(JSON.stringify(next));
        if (current) await kv.update(name, bytes, current.revision);
        else await kv.create(name, bytes);
        this.#records.set(name, next);
        return next;
      } catch (err) {
        lastError = err;
        // Someone else wrote first: read again and merge.
        if (!/wrong last sequence|key exists/i.test((err as Error).message ?? '')) break;
      }
    }
    throw new SkillStoreError(name, lastError);
  }
}
