import { definePlugin } from '@kokex/core';
import { clockActor } from './clock.js';

export { clockActor, clockConfigFromPlans, clockConfigSchema, createClockLogic, timeframesOf } from './clock.js';
export type { ClockConfig, ClockReplay } from './clock.js';

export default definePlugin({ name: '@kokex/actor-clock', version: '0.1.0', actors: [clockActor] });
