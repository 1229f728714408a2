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
  /** The KV revision each cached record was read or written at (0: the key did not exist). */
  readonly #revisions = new Map<string, number>();

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
      this.#revisions.set(name, entry?.revision ?? 0);
      return record;
    } catch (err) {
      throw new SkillStoreError(name, err);
    }
  }

  /**
   * Adds scored forecasts to the record, retrying on a concurrent writer; returns the merged record.
   * The first attempt builds on the record this process last read or wrote, at its revision (no
   * read: one round trip per candle instead of two); a replica that wrote since makes the
   * compare-and-set fail, and the retry reads the stored record and merges into it.
   */
  async add(key: SkillRecordKey, scored: readonly ScoredForecast[], window: number, now: number): Promise<SkillRecord> {
    const name = skillKey(key);
    const entries = scored.map(compact);
    const cached = this.#records.get(name);
    const cachedRevision = this.#revisions.get(name);
    let known = cached && cachedRevision !== undefined ? { base: cached, revision: cachedRevision } : undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        const kv = await this.bus.kv(SKILL_BUCKET);
        let base: SkillRecord;
        let revision: number;
        if (known) {
          ({ base, revision } = known);
          known = undefined;
        } else {
          const current = await kv.get(name);
          const exists = current?.operation === 'PUT' && current.length > 0;
          base = exists ? current.json<SkillRecord>() : emptyRecord(key, window);
          revision = current?.revision ?? 0;
        }
        const next = withScored(base, entries, window, now);
        const bytes = new TextEncoder().encode(JSON.stringify(next));
        const written = revision > 0 ? await kv.update(name, bytes, revision) : await kv.create(name, bytes);
        this.#records.set(name, next);
        this.#revisions.set(name, written);
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
