import { ManualClock } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { canTrade, type SessionState, venueSessionMachine } from '../src/index.js';

/** The venue session's machine alone: effects replaced by counters, timers on a manual clock. */
function session(retryMs = 5000) {
  const calls = { connect: 0, reconcile: 0, resync: 0, noteReady: 0 };
  const clock = new ManualClock(0);
  const machine = venueSessionMachine.provide({
    actions: {
      connect: () => void calls.connect++,
      reconcile: () => void calls.reconcile++,
      resync: () => void calls.resync++,
      noteReady: () => void calls.noteReady++,
    },
  });
  const actor = createActor(machine, { input: { retryMs }, clock });
  actor.start();
  const state = () => actor.getSnapshot().value as SessionState;
  return { actor, calls, clock, state, context: () => actor.getSnapshot().context };
}

describe('venue session machine', () => {
  it('runs the periodic reconciliation beside trading, never before the venue is ready', () => {
    const s = session();
    // Still connecting: a due reconciliation is not the machine's business yet.
    s.actor.send({ type: 'RECONCILE' });
    expect(s.state()).toBe('connecting');
    expect(s.calls.resync).toBe(0);
    s.actor.send({ type: 'CONNECTED' });
    s.actor.send({ type: 'RECONCILED' });
    s.actor.send({ type: 'RECONCILE' });
    expect(s.state()).toBe('resyncing');
    expect(s.calls.resync).toBe(1);
    expect(canTrade(s.state())).toBe(true);
    // Due again while one runs: the running one answers for both.
    s.actor.send({ type: 'RECONCILE' });
    expect(s.calls.resync).toBe(1);
    s.actor.send({ type: 'RECONCILED' });
    expect(s.state()).toBe('ready');
  });

  it('connects, reconciles, then trades; a resubscription reconciles beside trading', () => {
    const s = session();
    expect(s.state()).toBe('connecting');
    expect(s.calls.connect).toBe(1);
    expect(canTrade(s.state())).toBe(false);
    s.actor.send({ type: 'CONNECTED' });
    expect(s.state()).toBe('reconciling');
    expect(s.calls.reconcile).toBe(1);
    expect(canTrade(s.state())).toBe(false);
    s.actor.send({ type: 'RECONCILED' });
    expect(s.state()).toBe('ready');
    expect(s.calls.noteReady).toBe(1);
    expect(canTrade(s.state())).toBe(true);

    s.actor.send({ type: 'RESUBSCRIBED' });
    expect(s.state()).toBe('resyncing');
    expect(canTrade(s.state())).toBe(true);
    // A second gap while the first reconcile runs starts no second one.
    s.actor.send({ type: 'RESUBSCRIBED' });
    expect(s.calls.resync).toBe(1);
    s.actor.send({ type: 'FAILED', error: 'orders lookup timed out' });
    // A failed resync is noted, and trading goes on; the ready sweep does not run again.
    expect(s.state()).toBe('ready');
    expect(s.context().lastError).toBe('orders lookup timed out');
    expect(s.calls.noteReady).toBe(1);
  });

  it('waits retryMs after a failed connect or reconcile, on its clock, then connects again', () => {
    const s = session(5000);
    s.actor.send({ type: 'FAILED', error: 'ECONNREFUSED' });
    expect(s.state()).toBe('reconnecting');
    expect(s.context()).toMatchObject({ lastError: 'ECONNREFUSED', attempts: 1 });
    s.clock.advance(4999);
    expect(s.state()).toBe('reconnecting');
    expect(s.calls.connect).toBe(1);
    s.clock.advance(1);
    expect(s.state()).toBe('connecting');
    expect(s.calls.connect).toBe(2);

    s.actor.send({ type: 'CONNECTED' });
    s.actor.send({ type: 'FAILED', error: 'reconcile: 50011 rate limit' });
    expect(s.state()).toBe('reconnecting');
    expect(s.context().attempts).toBe(2);
    s.clock.advance(5000);
    s.actor.send({ type: 'CONNECTED' });
    s.actor.send({ type: 'RECONCILED' });
    // Ready forgets the failures.
    expect(s.state()).toBe('ready');
    expect(s.context()).toMatchObject({ lastError: undefined, attempts: 0 });
  });

  it('notes stream errors in any state without moving, ignores events a state does not take, and stops from anywhere', () => {
    const s = session();
    s.actor.send({ type: 'RECONCILED' });
    expect(s.state()).toBe('connecting');
    s.actor.send({ type: 'ERROR', error: 'socket hang up' });
    expect(s.state()).toBe('connecting');
    expect(s.context().lastError).toBe('socket hang up');
    s.actor.send({ type: 'FAILED', error: 'down' });
    s.actor.send({ type: 'STOP' });
    expect(s.state()).toBe('stopped');
    expect(s.actor.getSnapshot().status).toBe('done');
    // The retry timer of the state it left never fires.
    s.clock.advance(60_000);
    expect(s.calls.connect).toBe(1);
  });
});
