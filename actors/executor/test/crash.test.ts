import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type ActorStatus, applyPlan, Buckets } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import type { OkxSimulator } from '@kokex/plugin-okx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approval, approve, awaitEvent, eventsOf, REPO, simPlan, simulator } from './support.js';

let nats: TestNats;
let sim: OkxSimulator;
let port: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  ({ sim, port } = await simulator());
  await applyPlan(nats.bus, simPlan('crash'));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sim?.stop();
  await nats?.stop();
});

/** Starts the executor process and waits until its venue is reconciled (its status in kokex-actors says so). */
async function startExecutor(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=kokex-source', 'actors/executor/test/fixtures/executor-host.ts', nats.url, String(port), '1500'],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  await eventually(async () => {
    const kv = await nats.bus.kv(Buckets.actors);
    for await (const key of await kv.keys('executor.>')) {
      const status = (await kv.get(key))?.json<ActorStatus>();
      const venues = status?.detail.venues as Array<{ state: string }> | undefined;
      if (status?.state === 'running' && venues?.every((v) => v.state === 'ready')) return true;
    }
    return false;
  }, 30_000);
  return child;
}

const atVenue = (id: string) => [...(sim.account()?.orders.values() ?? [])].filter((o) => o.clOrdId === id);

describe('an executor killed in the middle of a placement', () => {
  it('is restarted and finds the order that reached the venue instead of placing a second one', async () => {
    const first = await startExecutor();
    sim.setFaults({ slowResponseMs: 1500 });
    const requestsBefore = sim.stats().restRequests;
    await approve(nats.bus, approval('crash', 'crash1'));
    // The POST is at the simulator (held back by the slow fault) when the executor dies.
    await eventually(() => sim.stats().restRequests > requestsBefore);
    first.kill('SIGKILL');
    await once(first, 'exit');
    await eventually(() => atVenue('crash1').length === 1, 5000);
    sim.setFaults({ slowResponseMs: 0 });
    expect(await eventsOf(nats.bus, 'crash1')).toEqual([]);
    // It fills while no executor runs: OKX would now take the same client order id again, so only
    // asking the venue first keeps a restarted executor from buying twice.
    sim.step();
    expect(atVenue('crash1')[0]?.state).toBe('filled');

    const second = await startExecutor();
    const filled = await awaitEvent(nats.bus, 'crash1', 'filled', 15_000);
    expect(filled).toMatchObject({ plan: 'crash', filledSize: 1 });
    expect(atVenue('crash1')).toHaveLength(1);
    // Redelivered approvals (the ack wait is 1.5 s) keep finding the same order.
    await new Promise((r) => setTimeout(r, 2000));
    expect(atVenue('crash1')).toHaveLength(1);
    second.kill('SIGTERM');
    await once(second, 'exit');
  });
});
