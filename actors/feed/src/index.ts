// Public face of @kokex/actor-feed. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { feedActor } from './feed.js';

export { feedConfigFromPlans, feedConfigSchema } from './config.js';
export { createFeedLogic, feedActor } from './feed.js';
export { seriesFeedMachine } from './machine.js';
export { SeriesFeed } from './series-feed.js';
export { VenueLink } from './venue-link.js';

export type { FeedConfig, FeedSeries } from './config.js';
export type { SeriesFeedContext, SeriesFeedEvent } from './machine.js';
export type { CatchUpRecord, FeedEnv } from './series-feed.js';

export default definePlugin({ name: '@kokex/actor-feed', version: '0.1.0', actors: [feedActor] });
