import {
  type Bus,
  ErrorCode,
  fetchArtifact,
  isKokexError,
  type Logger,
  latestModel,
  type ModelRecord,
  registerModelDirectory,
} from '@kokex/core';
import type { ForecastSeries } from './config.js';
import { type ForecastModel, inlineLoader, type ModelLoader } from './worker-client.js';

/**
 * Which model version serves each series, and the loaded ONNX Runtime sessions behind it. The
 * registry decides (`latestModel`: the newest unexpired version for the instrument and timeframe,
 * else for any). A swap loads the new version while the old one keeps serving, then switches; the
 * old one is released only after the last request that holds it has finished, so a swap never
 * drops a request. Versions are shared between series with the same model and providers. Where a
 * version runs is the loader's choice: the inference thread (the actor's default) or this one.
 */
export interface ModelLease {
  model: ForecastModel;
  record: ModelRecord;
  release(): void;
}

interface Loaded {
  key: string;
  model: ForecastModel;
  record: ModelRecord;
  holders: number;
  serving: Set<string>;
}

export interface ModelManagerOptions {
  shippedModelDir: string;
  intraOpThreads?: number;
  /** Where versions are loaded and run. Default: this thread (`inlineLoader`); the actor passes its inference thread's. */
  loader?: ModelLoader;
}

export class ModelManager {
  readonly #loaded = new Map<string, Promise<Loaded>>();
  readonly #serving = new Map<string, Loaded>();
  readonly #chains = new Map<string, Promise<unknown>>();
  swaps = 0;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: ModelManagerOptions,
  ) {}

  /** Registers the shipped model under the series' model name when the registry has nothing servable for it. */
  /**
   * `now` is the series' market time: a replay's registry answers what was servable at the data's
   * time, and a version registered then serves `maxAge` of market time.
   */
  async ensureRegistered(series: ForecastSeries, now: number): Promise<void> {
    try {
      await latestModel(this.bus, series.model.name, series.inst, series.tf, now);
    } catch (err) {
      if (!(isKokexError(err) && err.code === ErrorCode.ModelNotFound)) throw err;
      const record = await registerModelDirectory(this.bus, this.options.shippedModelDir, {
        name: series.model.name,
        maxAgeMs: series.model.maxAgeMs,
        now,
      });
      this.log.info(
        { model: record.name, version: record.version.slice(0, 12), dir: this.options.shippedModelDir },
        'registered the shipped model',
      );
    }
  }

  /** The version serving a series now, if any. */
  serving(seriesId: string): ModelRecord | undefined {
    return this.#serving.get(seriesId)?.record;
  }

  executionProvider(seriesId: string): string | undefined {
    return this.#serving.get(seriesId)?.model.executionProvider;
  }

  /** Asks the registry again and swaps to its newest version servable at `now` (market time); one refresh per series at a time. */
  refresh(series: ForecastSeries, seriesId: string, now: number): Promise<ModelRecord> {
    const previous = this.#chains.get(seriesId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#refresh(series, seriesId, now));
    this.#chains.set(seriesId, next);
    return next;
  }

  async #refresh(series: ForecastSeries, seriesId: string, now: number): Promise<ModelRecord> {
    const record = await latestModel(this.bus, series.model.name, series.inst, series.tf, now);
    const current = this.#serving.get(seriesId);
    if (current?.record.version === record.version && current.record.expiresAt === record.expiresAt) return current.record;
    const loaded = await this.#load(record, series);
    loaded.record = record; // the same version re-registered carries a new expiry
    loaded.serving.add(seriesId);
    this.#serving.set(seriesId, loaded);
    if (current && current !== loaded) {
      current.serving.delete(seriesId);
      this.swaps++;
      this.log.info(
        { series: seriesId, from: current.record.version.slice(0, 12), to: record.version.slice(0, 12) },
        'model swapped; the previous version finishes what it holds',
      );
      this.#releaseIfUnused(current);
    }
    return record;
  }

  #load(record: ModelRecord, series: ForecastSeries): Promise<Loaded> {
    const providers = series.forecast.executionProviders;
    const key = `${record.name}@${record.version}#${providers.join(',')}`;
    let loading = this.#loaded.get(key);
    if (!loading) {
      loading = (async () => {
        const files: Record<string, Uint8Array> = {};
        for (const [file, objectName] of Object.entries(record.artifacts)) files[file] = await fetchArtifact(this.bus, objectName);
        const load = this.options.loader ?? inlineLoader;
        const model = await load(files, `${record.name}@${record.version.slice(0, 12)}`, {
          executionProviders: providers,
          intraOpThreads: this.options.intraOpThreads,
          log: this.log,
        });
        this.log.info(
          { model: record.name, version: record.version.slice(0, 12), executionProvider: model.executionProvider },
          'model loaded',
        );
        return { key, model, record, holders: 0, serving: new Set<string>() };
      })();
      this.#loaded.set(key, loading);
      loading.catch(() => this.#loaded.delete(key));
    }
    return loading;
  }

  /** The serving model for a series, refreshed first when none is loaded or its registration expired at `now` (market time). Release the lease when done. */
  async acquire(series: ForecastSeries, seriesId: string, now: number): Promise<ModelLease> {
    let loaded = this.#serving.get(seriesId);
    if (!loaded || loaded.record.expiresAt <= now) {
      await this.refresh(series, seriesId, now);
      loaded = this.#serving.get(seriesId) as Loaded;
    }
    const held = loaded;
    held.holders++;
    let released = false;
    return {
      model: held.model,
      record: held.record,
      release: () => {
        if (released) return;
        released = true;
        held.holders--;
        this.#releaseIfUnused(held);
      },
    };
  }

  #releaseIfUnused(loaded: Loaded): void {
    if (loaded.serving.size > 0 || loaded.holders > 0) return;
    this.#loaded.delete(loaded.key);
    void loaded.model.dispose();
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.#loaded.values()]);
    this.#loaded.clear();
    this.#serving.clear();
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? r.value.model.dispose() : undefined)));
  }
}
