import {
  type ActorContext,
  type ActorLogic,
  actorRequestGroup,
  actorRequestSubject,
  addControlEndpoint,
  Buckets,
  CandleContract,
  type ConsumerAccess,
  consume,
  defineActorKind,
  type ForecastAnswer,
  InferencerEndpoints,
  MarketClockKind,
  ModelReadyContract,
  ObjectStores,
  Streams,
  subject,
  subjectFilter,
} from '@kokex/core';
import { type Service, Svcm } from '@nats-io/services';
import type { Subscription } from '@nats-io/transport-node';
import { ForecastBatcher } from './batcher.js';
import { type ForecastSeries, type InferencerConfig, inferencerConfigFromPlans, inferencerConfigSchema, seriesKey } from './config.js';
import { BadForecastRequestError, UnknownSeriesError } from './errors.js';
import { SeriesForecaster } from './forecaster.js';
import { forecastMetrics } from './metrics.js';
import { ModelManager } from './models.js';
import { SKILL_BUCKET, SKILL_TOPOLOGY, SkillStore } from './skill/store.js';
import { InferenceWorker, inlineLoader, type ModelLoader } from './worker-client.js';

/**
 * The inferencer actor: for each plan series, a durable consumer on MD_CANDLES forecasts on every
 * closed candle; `kokex.ctl.inferencer.forecast` answers requests (`{inst, tf}`) with a fresh
 * forecast; a subscription to `kokex.model.ready.>` swaps in new model versions. Forecasts go to
 * `kokex.forecast.{inst}.{tf}` with the candle's correlation id. ONNX Runtime runs in the actor's
 * inference thread (`thread: worker`, started with the actor and terminated when it stops); a
 * crash of that thread fails the forecasts it held and the actor (`ctx.fail`), whose restart
 * starts a fresh thread and loads the serving versions again.
 */
export const FORECAST_REQUEST_SUBJECT = actorRequestSubject('inferencer', InferencerEndpoints.forecast);
const VERSION = '0.1.0';

/** The durable consumer of one series' closed candles: what the logic runs and the bus declaration lists. */
export function inferencerConsumer(series: Pick<ForecastSeries, 'venue' | 'inst' | 'tf'>): ConsumerAccess {
  return {
    stream: Streams.candles,
    durable: `inferencer-${series.venue}-${series.inst}-${series.tf}`,
    filter: subject('candle', { venue: series.venue, inst: series.inst, tf: series.tf }),
  };
}

export function createInferencerLogic(ctx: ActorContext<InferencerConfig>): ActorLogic<InferencerConfig> {
  const config = ctx.config;
  let worker: InferenceWorker | undefined;
  const loader: ModelLoader = (files, where, options) => {
    if (config.thread === 'inline') return inlineLoader(files, where, options);
    if (!worker) return Promise.reject(new Error('the inference worker is not running (the actor is not started)'));
    return worker.load(files, where, options);
  };
  const models = new ModelManager(ctx.bus, ctx.log, {
    shippedModelDir: config.shippedModelDir,
    intraOpThreads: config.intraOpThreads,
    loader,
  });
  const skill = new SkillStore(ctx.bus);
  const batcher = new ForecastBatcher(config.batchWindowMs);
  const forecasters = new Map<string, SeriesForecaster>();
  for (const series of config.series) {
    const f = new SeriesForecaster(series, {
      bus: ctx.bus,
      log: ctx.log,
      models,
      skill,
      batcher,
      minHistory: config.minHistory,
      source: ctx.instanceId,
      marketClock: ctx.marketClocks.of(series.plan, series.mode),
      wallNow: () => ctx.clock.now(),
    });
    forecasters.set(f.id, f);
  }
  let readySub: Subscription | undefined;
  let service: Service | undefined;
  let requests = 0;
  const recordForecast = forecastMetrics(ctx.metrics);

  const onModelReady = (data: Uint8Array) => {
    let ready: ReturnType<typeof ModelReadyContract.decode>['data'];
    try {
      ready = ModelReadyContract.decode(data).data;
    } catch (err) {
      ctx.log.warn({ err }, 'ignored a model.ready message that does not parse');
      return;
    }
    for (const f of forecasters.values()) {
      const s = f.series;
      const applies =
        ready.name === s.model.name && (ready.inst === s.inst || ready.inst === '_') && (ready.tf === s.tf || ready.tf === '_');
      if (!applies) continue;
      models
        .refresh(s, f.id, f.marketNow())
        .catch((err: unknown) => ctx.log.error({ err, series: f.id }, 'model swap failed; the previous version keeps serving'));
    }
  };

  const onRequest = async (body: unknown): Promise<Omit<ForecastAnswer, 'ok'>> => {
    const { inst, tf, correlationId } = (body ?? {}) as { inst?: unknown; tf?: unknown; correlationId?: unknown };
    if (typeof inst !== 'string' || typeof tf !== 'string') throw new BadForecastRequestError('inst and tf must be strings');
    const f = forecasters.get(seriesKey(inst, tf));
    if (!f) throw new UnknownSeriesError(inst, tf, [...forecasters.keys()]);
    requests++;
    const published = await f.forecast({
      id: `forecast:${inst}:${tf}:request:${crypto.randomUUID()}`,
      ...(typeof correlationId === 'string' && correlationId ? { correlationId } : {}),
    });
    if (!published.duplicate) recordForecast(published.envelope.data);
    return { forecast: published.envelope.data, id: published.envelope.id, seq: published.seq, batchSize: published.batchSize };
  };

  return {
    consumers: [...forecasters.values()].map((f) =>
      consume(
        {
          ...inferencerConsumer(f.series),
          contract: CandleContract,
          // One candle at a time per series, in order; history before start comes from fill().
          maxInFlight: 1,
          deliverPolicy: 'new',
        },
        async (envelope, msg) => {
          // Live, a backlog (after a restart) forecasts only its newest bar. A replay forecasts every
          // bar of a backlog that its decisions can still act on (keeping up depends on the machine,
          // and the forecasts must not: same bars, same forecasts at 1×, 60× or in lockstep), but
          // not the history filled in at start, more bars behind than an intent lives: the guard
          // would deny every decision on it INTENT_EXPIRED.
          const replay = ctx.marketClocks.of(f.series.plan, f.series.mode).kind === MarketClockKind.event;
          const pending = msg.info.pending;
          const published = await f.onCandle(envelope, replay ? pending > f.series.decisionBars : pending > 0);
          if (published && !published.duplicate) recordForecast(published.envelope.data);
        },
      ),
    ),

    async start() {
      if (config.thread === 'worker') {
        worker = await InferenceWorker.start({
          log: ctx.log,
          nice: config.threadNice,
          onExit: (err) => {
            ctx.log.error({ err }, 'the inference worker ended; the actor restarts');
            ctx.fail(err);
          },
        });
      }
      await ctx.bus.provision(SKILL_TOPOLOGY);
      for (const f of forecasters.values()) {
        await models.ensureRegistered(f.series, f.marketNow());
        await models.refresh(f.series, f.id, f.marketNow());
        const bars = await f.fill();
        ctx.log.info({ series: f.id, bars, model: models.serving(f.id)?.version.slice(0, 12) }, 'series ready');
      }
      readySub = ctx.bus.nc.subscribe(subjectFilter('modelReady'), {
        callback: (err, msg) => {
          if (!err) onModelReady(msg.data);
        },
      });
      service = await new Svcm(ctx.bus.nc).add({
        name: 'kokex-forecast',
        version: VERSION,
        description: 'forecast on request: {inst, tf} → a fresh forecast, also published on kokex.forecast.{inst}.{tf}',
        metadata: { instance: ctx.instanceId, host: ctx.hostId },
      });
      addControlEndpoint(service, actorRequestGroup('inferencer'), InferencerEndpoints.forecast, onRequest);
    },

    async stop() {
      readySub?.unsubscribe();
      await service?.stop().catch(() => undefined);
      await batcher.idle();
      await models.close();
      await worker?.stop();
      worker = undefined;
    },

    status: () => ({
      series: [...forecasters.values()].map((f) => ({
        series: f.id,
        bars: f.history.size,
        lastBar: f.history.last?.ts,
        model: models.serving(f.id)?.version.slice(0, 12),
        executionProvider: models.executionProvider(f.id),
        forecasts: f.forecasts,
        pending: f.pendingCount,
        scored: f.scored,
        lastForecast: f.lastForecast,
        lastSkipped: f.lastSkipped,
      })),
      requests,
      batches: batcher.batches,
      coalesced: batcher.coalesced,
      swaps: models.swaps,
      thread:
        config.thread === 'worker'
          ? { kind: 'worker', threadId: worker?.thread.threadId, alive: worker?.alive ?? false, nice: config.threadNice }
          : { kind: 'inline' },
    }),
  };
}

export const inferencerActor = defineActorKind<InferencerConfig>({
  kind: 'inferencer',
  description: 'Kronos forecasts with Monte Carlo paths and a live skill gate on every closed candle of the plans',
  configSchema: inferencerConfigSchema,
  configFromPlans: inferencerConfigFromPlans,
  create: createInferencerLogic,
  bus: {
    publishes: [subjectFilter('forecast')],
    // Stored bars and forecasts read by subject (history fill, `kokex forecast`).
    reads: [Streams.candles, Streams.forecasts],
    subscribes: [subjectFilter('modelReady')],
    consumes: ({ config }) => config.series.map(inferencerConsumer),
    kv: [Buckets.models, SKILL_BUCKET],
    objectStores: [ObjectStores.artifacts],
  },
});
