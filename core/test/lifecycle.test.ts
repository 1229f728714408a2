import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { describe, expect, it } from 'vitest';
import { lifecycleMachine, restartDelay } from '../src/index.js';

/** Pure machine tests: effects are stubbed promises we resolve by hand, time is simulated. */
function harness(options: { maxRestarts?: number; backoffBaseMs?: number; backoffMaxMs?: number; stableAfterMs?: number } = {}) {
  const clock = new SimulatedClock();
  const calls: string[] = [];
  let startOutcome: 'ok' | 'fail' = 'ok';
  const machine = lifecycleMachine.provide({
    actors: {
      startWork: fromPromise(async () => {
        calls.push('start');
        if (startOutcome === 'fail') throw new Error('start failed');
      }),
      drainWork: fromPromise(async () => {
        calls.push('drain');
      }),
      haltWork: fromPromise(async () => {
        calls.push('halt');
      }),
    },
    actions: {
      pauseWork: () => void calls.push('pause'),
      resumeWork: () => void calls.push('resume'),
    },
  });
  const actor = createActor(machine, { input: { backoffBaseMs: 100, maxRestarts: 3, stableAfterMs: 1000, ...options }, clock });
  const state = () => String(actor.getSnapshot().value);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return {
    actor,
    clock,
    calls,
    state,
    settle,
    failStarts: (fail: boolean) => {
      startOutcome = fail ? 'fail' : 'ok';
    },
  };
}

describe('actor lifecycle machine', () => {
  it('starts, runs, pauses, resumes, drains and stops', async () => {
    const h = harness();
    h.actor.start();
    expect(h.state()).toBe('starting');
    await h.settle();
    expect(h.state()).toBe('running');
    h.actor.send({ type: 'PAUSE' });
    expect(h.state()).toBe('paused');
    h.actor.send({ type: 'RESUME' });
    expect(h.state()).toBe('running');
    h.actor.send({ type: 'DRAIN' });
    expect(h.state()).toBe('draining');
    await h.settle();
    expect(h.state()).toBe('stopped');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.calls).toEqual(['start', 'pause', 'resume', 'drain']);
  });

  it('drains from paused and stops (halt) from running', async () => {
    const h = harness();
    h.actor.start();
    await h.settle();
    h.actor.send({ type: 'PAUSE' });
    h.actor.send({ type: 'DRAIN' });
    await h.settle();
    expect(h.state()).toBe('stopped');

    const g = harness();
    g.actor.start();
    await g.settle();
    g.actor.send({ type: 'STOP' });
    expect(g.state()).toBe('stopping');
    await g.settle();
    expect(g.state()).toBe('stopped');
    expect(g.calls).toEqual(['start', 'halt']);
  });

  it('refuses invalid triggers instead of acting on them', async () => {
    const h = harness();
    h.actor.start();
    await h.settle();
    expect(h.actor.getSnapshot().can({ type: 'RESUME' })).toBe(false);
    expect(h.actor.getSnapshot().can({ type: 'RESTART' })).toBe(false);
    expect(h.actor.getSnapshot().can({ type: 'PAUSE' })).toBe(true);
    h.actor.send({ type: 'RESUME' });
    expect(h.state()).toBe('running');
  });

  it('a fault releases resources, backs off exponentially, restarts, and gives up after the bound', async () => {
    const h = harness({ maxRestarts: 3, backoffBaseMs: 100 });
    h.actor.start();
    await h.settle();
    h.failStarts(true);
    h.actor.send({ type: 'FAULT', error: new Error('handler threw') });
    expect(h.state()).toBe('failed');
    await h.settle();
    expect(h.state()).toBe('restarting');
    expect(h.actor.getSnapshot().context.lastError?.message).toBe('handler threw');
    // Attempt 1 waits 100 ms, attempt 2 200 ms, attempt 3 400 ms.
    for (const wait of [100, 200, 400]) {
      h.clock.increment(wait - 1);
      await h.settle();
      expect(h.state()).toBe('restarting');
      h.clock.increment(1);
      await h.settle();
      await h.settle();
    }
    expect(h.state()).toBe('gaveUp');
    expect(h.actor.getSnapshot().context.attempts).toBe(3);
    expect(h.actor.getSnapshot().context.lastError?.message).toBe('start failed');
    expect(h.calls.filter((c) => c === 'start')).toHaveLength(4);
    // A person can restart a given-up actor; the count starts over.
    h.failStarts(false);
    h.actor.send({ type: 'RESTART' });
    await h.settle();
    expect(h.state()).toBe('running');
    expect(h.actor.getSnapshot().context.attempts).toBe(0);
  });

  it('forgives earlier failures after running stably', async () => {
    const h = harness({ maxRestarts: 2, backoffBaseMs: 10, stableAfterMs: 1000 });
    h.actor.start();
    await h.settle();
    h.actor.send({ type: 'FAULT', error: new Error('x') });
    await h.settle();
    h.clock.increment(10);
    await h.settle();
    expect(h.state()).toBe('running');
    expect(h.actor.getSnapshot().context.attempts).toBe(1);
    h.clock.increment(1000);
    expect(h.actor.getSnapshot().context.attempts).toBe(0);
  });

  it('a fault while paused and a stop while restarting are handled', async () => {
    const h = harness({ backoffBaseMs: 50 });
    h.actor.start();
    await h.settle();
    h.actor.send({ type: 'PAUSE' });
    h.actor.send({ type: 'FAULT', error: new Error('late handler failure') });
    expect(h.state()).toBe('failed');
    await h.settle();
    expect(h.state()).toBe('restarting');
    h.actor.send({ type: 'STOP' });
    expect(h.state()).toBe('stopped');
  });

  it('caps the restart delay', () => {
    expect(restartDelay({ attempts: 1, backoffBaseMs: 500, backoffMaxMs: 30_000 })).toBe(500);
    expect(restartDelay({ attempts: 4, backoffBaseMs: 500, backoffMaxMs: 30_000 })).toBe(4000);
    expect(restartDelay({ attempts: 20, backoffBaseMs: 500, backoffMaxMs: 30_000 })).toBe(30_000);
  });
});
