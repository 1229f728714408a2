// Public face of @kokex/actor-feed. Explicit exports only: values first, then types.
import { definePlugin } from '@kokex/core';
import { feedActor } from './feed.js';

export { catchUpMachine } from './catch-up.js';
export { feedConfigFromPlans, feedConfigSchema } from './config.js';
export { createFeedLogic, feedActor } from './feed.js';
export { SeriesFeed } from './series-feed.js';
export { VenueLink } from './venue-link.js';

export type { CatchUpContext, CatchUpEvent } from './catch-up.js';
export type { FeedConfig, FeedSeries } from './config.js';
export type { CatchUpRecord, FeedEnv } from './series-feed.js';

export default definePlugin({ name: '@kokex/actor-feed', version: '0.1.0', actors: [feedActor] });
