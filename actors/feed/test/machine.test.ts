import { ManualClock } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { seriesFeedMachine } from '../src/index.js';

/**
 * A series-feed machine whose subscription and fetches the test resolves or fails by hand, on a
 * manual clock. (The catch-up tests of the former catch-up machine live on here with their
 * assertions: `idle` is now `live`, `fetching` `catchingUp`, `waiting` `retrying`.)
 */
function harness() {
  const clock = new ManualClock(0);
  const subscribes: Array<{ resolve(): void; reject(err: Error): void }> = [];
  const fetches: Array<{ resolve(): void; reject(err: Error): void }> = [];
  let released = 0;
  const machine = seriesFeedMachine.provide({
    actors: {
      subscribe: fromPromise(() => new Promise<void>((resolve, reject) => subscribes.push({ resolve, reject }))),
      fetchMissed: fromPromise(() => new Promise<void>((resolve, reject) => fetches.push({ resolve, reject }))),
    },
    actions: { releaseHeld: () => void released++ },
  });
  const actor = createActor(machine, { input: { retryMs: 100 }, clock }).start();
  const state = () => String(actor.getSnapshot().value);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  /** Subscribed and caught up once: live. */
  const goLive = async () => {
    subscribes.at(-1)?.resolve();
    await settle();
    fetches.at(-1)?.resolve();
    await settle();
  };
  return { clock, subscribes, fetches, actor, state, settle, goLive, released: () => released };
}

describe('series feed machine', () => {
  it('subscribes, catches up once subscribed, then is live', async () => {
    const h = harness();
    expect(h.state()).toBe('subscribing');
    h.subscribes[0]?.resolve();
    await h.settle();
    expect(h.state()).toBe('catchingUp');
    h.fetches[0]?.resolve();
    await h.settle();
    expect(h.state()).toBe('live');
    // Leaving the catch-up releases the live bars held during it.
    expect([h.actor.getSnapshot().context.runs, h.released()]).toEqual([1, 1]);
  });

  it('retries a refused subscription after a delay that doubles', async () => {
    const h = harness();
    h.subscribes[0]?.reject(new Error('60018 unknown instrument'));
    await h.settle();
    expect(h.state()).toBe('failed');
    expect(h.actor.getSnapshot().context).toMatchObject({ subscribeFailures: 1, lastError: expect.objectContaining({ message: '60018 unknown instrument' }) });
    h.clock.advance(100);
    expect([h.state(), h.subscribes.length]).toEqual(['subscribing', 2]);
    h.subscribes[1]?.reject(new Error('still refused'));
    await h.settle();
    h.clock.advance(199);
    expect(h.state()).toBe('failed');
    h.clock.advance(1);
    h.subscribes[2]?.resolve();
    await h.settle();
    expect(h.state()).toBe('catchingUp');
    expect(h.actor.getSnapshot().context.subscribeFailures).toBe(0);
  });

  it('fetches on request and goes back to live', async () => {
    const h = harness();
    await h.goLive();
    h.actor.send({ type: 'REQUEST' });
    expect(h.state()).toBe('catchingUp');
    h.fetches[1]?.resolve();
    await h.settle();
    expect(h.state()).toBe('live');
    expect(h.actor.getSnapshot().context.runs).toBe(2);
  });

  it('coalesces requests made while fetching into one more fetch, never two at once', async () => {
    const h = harness();
    await h.goLive();
    h.actor.send({ type: 'REQUEST' });
    h.actor.send({ type: 'REQUEST' });
    h.actor.send({ type: 'RESUBSCRIBED' });
    expect(h.fetches).toHaveLength(2);
    h.fetches[1]?.resolve();
    await h.settle();
    expect(h.state()).toBe('catchingUp');
    expect(h.fetches).toHaveLength(3);
    h.fetches[2]?.resolve();
    await h.settle();
    expect(h.state()).toBe('live');
    expect(h.fetches).toHaveLength(3);
    expect(h.actor.getSnapshot().context.resubscribes).toBe(1);
  });

  it('retries a failed fetch after a delay that doubles, and at once when asked again', async () => {
    const h = harness();
    await h.goLive();
    h.actor.send({ type: 'REQUEST' });
    h.fetches[1]?.reject(new Error('venue down'));
    await h.settle();
    expect(h.state()).toBe('retrying');
    expect(h.actor.getSnapshot().context).toMatchObject({ failures: 1, lastError: expect.objectContaining({ message: 'venue down' }) });
    h.clock.advance(99);
    expect(h.state()).toBe('retrying');
    h.clock.advance(1);
    expect(h.state()).toBe('catchingUp');
    h.fetches[2]?.reject(new Error('still down'));
    await h.settle();
    h.clock.advance(199);
    expect(h.state()).toBe('retrying');
    // A reconnect does not wait for the timer.
    h.actor.send({ type: 'RESUBSCRIBED' });
    expect(h.state()).toBe('catchingUp');
    h.fetches[3]?.resolve();
    await h.settle();
    expect(h.actor.getSnapshot().context).toMatchObject({ failures: 0, runs: 2 });
  });
});
