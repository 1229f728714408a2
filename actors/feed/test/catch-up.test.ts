import { ManualClock } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { catchUpMachine } from '../src/index.js';

/** A catch-up machine whose fetches the test resolves or fails by hand, on a manual clock. */
function harness() {
  const clock = new ManualClock(0);
  const fetches: Array<{ resolve(): void; reject(err: Error): void }> = [];
  const machine = catchUpMachine.provide({
    actors: { fetchMissed: fromPromise(() => new Promise<void>((resolve, reject) => fetches.push({ resolve, reject }))) },
  });
  const actor = createActor(machine, { input: { retryMs: 100 }, clock }).start();
  const state = () => String(actor.getSnapshot().value);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { clock, fetches, actor, state, settle };
}

describe('catch-up machine', () => {
  it('fetches on request and goes back to idle', async () => {
    const h = harness();
    expect(h.state()).toBe('idle');
    h.actor.send({ type: 'REQUEST' });
    expect(h.state()).toBe('fetching');
    h.fetches[0]?.resolve();
    await h.settle();
    expect(h.state()).toBe('idle');
    expect(h.actor.getSnapshot().context.runs).toBe(1);
  });

  it('coalesces requests made while fetching into one more fetch, never two at once', async () => {
    const h = harness();
    h.actor.send({ type: 'REQUEST' });
    h.actor.send({ type: 'REQUEST' });
    h.actor.send({ type: 'REQUEST' });
    expect(h.fetches).toHaveLength(1);
    h.fetches[0]?.resolve();
    await h.settle();
    expect(h.state()).toBe('fetching');
    expect(h.fetches).toHaveLength(2);
    h.fetches[1]?.resolve();
    await h.settle();
    expect(h.state()).toBe('idle');
    expect(h.fetches).toHaveLength(2);
  });

  it('retries a failed fetch after a delay that doubles, and at once when asked again', async () => {
    const h = harness();
    h.actor.send({ type: 'REQUEST' });
    h.fetches[0]?.reject(new Error('venue down'));
    await h.settle();
    expect(h.state()).toBe('waiting');
    expect(h.actor.getSnapshot().context).toMatchObject({ failures: 1, lastError: expect.objectContaining({ message: 'venue down' }) });
    h.clock.advance(99);
    expect(h.state()).toBe('waiting');
    h.clock.advance(1);
    expect(h.state()).toBe('fetching');
    h.fetches[1]?.reject(new Error('still down'));
    await h.settle();
    h.clock.advance(199);
    expect(h.state()).toBe('waiting');
    // A reconnect does not wait for the timer.
    h.actor.send({ type: 'REQUEST' });
    expect(h.state()).toBe('fetching');
    h.fetches[2]?.resolve();
    await h.settle();
    expect(h.actor.getSnapshot().context).toMatchObject({ failures: 0, runs: 1 });
  });
});
