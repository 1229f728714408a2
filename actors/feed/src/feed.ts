import { type ActorContext, type ActorLogic, defineActorKind, isKokexError, Streams, seriesId, subjectFilter, Tokens } from '@kokex/core';
import { type FeedConfig, feedConfigFromPlans, feedConfigSchema } from './config.js';
import { type FeedEnv, SeriesFeed } from './series-feed.js';
import { VenueLink } from './venue-link.js';

const linkKey = (s: { venue: string; mode: string }) => `${s.venue}|${s.mode}`;

/**
 * The feed: for every series of the active plans, closed candles from the venue's exchange
 * adapter into MD_RAW (`kokex.md.raw.{venue}.{inst}.{tf}`, message id `{venue}:{inst}:{tf}:{ts}`),
 * where the validator checks them into MD_CANDLES; in-progress ones on core NATS
 * (`kokex.md.live.…`); and the closed bars it missed fetched over REST at start and after every
 * resubscribe. A plan change subscribes
 * the series that are new and drops those that are gone; the others are not touched.
 */
export function createFeedLogic(ctx: ActorContext<FeedConfig>): ActorLogic<FeedConfig> {
  let config = ctx.config;
  const errors = new Map<string, number>();
  const env: FeedEnv = {
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
    source: ctx.instanceId,
    retryMs: config.retryMs,
    firstPushWaitMs: config.firstPushWaitMs,
    noteError(err, context) {
      const code = isKokexError(err) ? err.code : 'UNEXPECTED';
      const seen = errors.get(code) ?? 0;
      errors.set(code, seen + 1);
      // Under a faulty venue the same error repeats: the first of each kind is worth a warning.
      if (seen === 0) ctx.log.warn({ err, ...context }, 'feed: venue or bus error (counted in status; later ones at debug)');
      else ctx.log.debug({ err, ...context }, 'feed: venue or bus error');
    },
  };
  const series = new Map<string, SeriesFeed>();
  const links = new Map<string, VenueLink>();

  /** Brings series and links in line with `config`; series that stay keep their subscription and counters. */
  const apply = async () => {
    const keep = new Set(config.series.map(seriesId));
    for (const [id, feed] of series) {
      if (keep.has(id)) continue;
      series.delete(id);
      for (const link of links.values())
        if (link.members.has(id)) await link.setMembers([...link.members.values()].filter((m) => m !== feed));
      await feed.stop();
    }
    const wanted = new Map<string, SeriesFeed[]>();
    for (const s of config.series) {
      let feed = series.get(seriesId(s));
      if (feed) feed.series = s;
      else {
        feed = new SeriesFeed(s, env);
        series.set(feed.id, feed);
      }
      wanted.set(linkKey(s), [...(wanted.get(linkKey(s)) ?? []), feed]);
    }
    for (const [key, link] of links) {
      if (wanted.has(key)) continue;
      links.delete(key);
      await link.stop();
    }
    for (const [key, members] of wanted) {
      let link = links.get(key);
      if (!link) {
        const { venue, mode } = (members[0] as SeriesFeed).series;
        link = new VenueLink(venue, mode, {
          ...env,
          adapters: ctx.container.resolve(Tokens.Adapters),
          adapterSettings: config.adapters,
        });
        links.set(key, link);
      }
      await link.setMembers(members);
    }
    ctx.log.info({ series: [...series.keys()] }, 'feed streaming');
  };

  let applying: Promise<void> = Promise.resolve();
  const schedule = () => {
    // Plan changes apply one after another; a failure is logged and the next change starts clean.
    applying = applying.then(apply).catch((err: unknown) => ctx.log.error({ err }, 'feed: applying the configuration failed'));
    return applying;
  };

  return {
    start() {
      // Not awaited: a venue that is slow to answer must not hold the host's start-up.
      void schedule();
    },
    async stop() {
      await applying;
      await Promise.all([...links.values()].map((l) => l.stop()));
      await Promise.all([...series.values()].map((s) => s.stop()));
      links.clear();
      series.clear();
    },
    reconfigure(next) {
      config = next;
      return schedule();
    },
    status: () => ({
      series: [...series.values()].map((s) => s.status()),
      venues: [...links.values()].map((l) => l.status()),
      errors: Object.fromEntries(errors),
    }),
  };
}

export const feedActor = defineActorKind<FeedConfig>({
  kind: 'feed',
  description: 'closed candles from the exchange adapters into MD_RAW for the validator, live updates on core NATS, missed bars caught up over REST',
  configSchema: feedConfigSchema,
  configFromPlans: feedConfigFromPlans,
  create: createFeedLogic,
  // Closed bars to the raw inbox (never MD_CANDLES: the validator is its only writer), live ones on
  // core NATS, and the last raw and validated bar of a series (where a catch-up starts).
  access: () => ({
    publish: [
      subjectFilter('rawCandle'),
      subjectFilter('live'),
      `$JS.API.STREAM.MSG.GET.${Streams.raw}`,
      `$JS.API.STREAM.MSG.GET.${Streams.candles}`,
    ],
  }),
});
