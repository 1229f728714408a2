import { resolve } from 'node:path';
import {
  ActorHost,
  type Bus,
  ManualClock,
  ModelProgressContract,
  OrderVerdictContract,
  type ScheduleStage,
  ScheduledDecisionContract,
  ScheduleStageContract,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, ScheduledJob } from '../src/index.js';

/**
 * Two scheduler replicas on a real nats-server, each with its own manual clock at the same time.
 * The trainer, the inferencer and the agent (with the guard behind it) are stood in for by plain
 * responders on their subjects: what matters here is the scheduler's side of each conversation.
 */
const DIR = resolve(import.meta.dirname, '..');
const T0 = Date.UTC(2026, 0, 5, 10, 3);
const JOB: ScheduledJob = {
  plan: 'sched',
  job: 'retrain',
  schedule: '5m',
  from: 'train',
  venue: 'okx',
  mode: 'live',
  inst: 'BTC-USDT-SWAP',
  tf: '1m',
  decide: true,
  decisionWindowMs: 400,
};
const encoder = new TextEncoder();

let nats: TestNats;
const clocks = [new ManualClock(T0), new ManualClock(T0)];
const hosts: ActorHost[] = [];
const subs: Array<{ unsubscribe(): void }> = [];
let trainer: { unsubscribe(): void } | undefined;

/** Answers train requests with a job id, then reports the job done (what the trainer does, in short). */
function standInTrainer(bus: Bus) {
  let n = 0;
  return bus.nc.subscribe('kokex.ctl.trainer.train', {
    queue: 'kokex-trainer',
    callback: (_e, msg) => {
      const jobId = `job-${++n}`;
      msg.respond(encoder.encode(JSON.stringify({ ok: true, jobId, joined: false, state: 'running' })));
      setTimeout(() => {
        void bus.publish(ModelProgressContract, subject('modelProgress', { inst: JOB.inst, tf: JOB.tf }), {
          inst: JOB.inst,
          tf: JOB.tf,
          jobId,
          stage: 'done',
          message: 'model v1 stored',
        });
      }, 50);
    },
  });
}

beforeAll(async () => {
  nats = await startTestNats();
  trainer = standInTrainer(nats.bus);
  subs.push(
    nats.bus.nc.subscribe('kokex.ctl.inferencer.forecast', {
      callback: (_e, msg) => {
        msg.respond(encoder.encode(JSON.stringify({ ok: true, id: 'forecast-1', forecast: { asOf: T0, tradeable: true, pUp: 0.61 } })));
      },
    }),
    // The agent decides one order, and the guard approves it (under the run's correlation id).
    nats.bus.nc.subscribe('kokex.clock.decide.>', {
      callback: (_e, msg) => {
        const trigger = ScheduledDecisionContract.decode(msg.data);
        void nats.bus.publish(
          OrderVerdictContract,
          subject('orderVerdict', { plan: trigger.data.plan, inst: trigger.data.inst }),
          {
            plan: trigger.data.plan,
            inst: trigger.data.inst,
            clientOrderId: 'sched1',
            decision: 'approve',
            reason: 'OK',
            rule: 'all',
            message: 'ok',
          },
          { correlationId: trigger.correlationId },
        );
      },
    }),
  );
  for (const clock of clocks) {
    const host = new ActorHost({
      bus: await nats.connect(),
      log: captureLogger('error').log,
      clock,
      kinds: ['scheduler'],
      config: { scheduler: { extraJobs: [JOB], requestTimeoutMs: 500 } },
    });
    await host.loadPlugin(DIR);
    await host.start();
    hosts.push(host);
  }
});

afterAll(async () => {
  for (const h of hosts) await h.stop();
  trainer?.unsubscribe();
  for (const s of subs) s.unsubscribe();
  await nats?.stop();
});

async function stages(runId: string): Promise<ScheduleStage[]> {
  const out: ScheduleStage[] = [];
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams
      .getMessage(Streams.clock, { next_by_subj: 'kokex.clock.stage.>', seq } as never)
      .catch(() => null);
    if (!msg) return out.filter((s) => s.runId === runId);
    out.push(ScheduleStageContract.decode(msg.data).data);
    seq = msg.seq + 1;
  }
}

const detail = (h: ActorHost) =>
  h.statuses()[0]?.detail as { runs: RunRecord[]; fired: number; firedByOthers: number; jobs: Array<{ next: string }> };

describe('scheduler replicas', () => {
  it('fire a due job once between them and run train → infer → decide → execute, each stage on the stage subject', async () => {
    expect(detail(hosts[0] as ActorHost).jobs[0]?.next).toBe('2026-01-05T10:05:00.000Z');
    for (const c of clocks) c.advance(2 * 60_000);
    const runId = `fire:sched:retrain:${Date.UTC(2026, 0, 5, 10, 5)}`;
    await eventually(async () => (await stages(runId)).some((s) => s.stage === 'execute' && s.state === 'done'), 10_000);
    const seen = await stages(runId);
    expect(seen.map((s) => `${s.stage}:${s.state}`)).toEqual([
      'train:running',
      'train:done',
      'infer:running',
      'infer:done',
      'decide:running',
      'decide:done',
      'execute:running',
      'execute:done',
    ]);
    expect(seen.find((s) => s.stage === 'train' && s.state === 'done')?.detail).toMatchObject({ jobId: 'job-1' });
    expect(seen.find((s) => s.stage === 'infer' && s.state === 'done')?.detail).toMatchObject({
      id: 'forecast-1',
      tradeable: true,
      pUp: 0.61,
    });
    expect(seen.at(-1)?.detail).toEqual({ intents: 1, approved: 1, denied: [], orders: {} });

    const details = hosts.map(detail);
    // Both replicas published the fire; the stream kept one, and one replica ran it.
    expect(details.map((d) => d.fired + d.firedByOthers)).toEqual([1, 1]);
    expect(details.map((d) => d.fired).sort()).toEqual([0, 1]);
    const runs = details.flatMap((d) => d.runs);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ runId, state: 'done', stages: { train: 'done', infer: 'done', decide: 'done', execute: 'done' } });
    expect(details[0]?.jobs[0]?.next).toBe('2026-01-05T10:10:00.000Z');
  });

  it('fails a run at a stage nobody answers, with its error code, and skips the rest', async () => {
    trainer?.unsubscribe();
    trainer = undefined;
    for (const c of clocks) c.advance(5 * 60_000);
    const runId = `fire:sched:retrain:${Date.UTC(2026, 0, 5, 10, 10)}`;
    await eventually(async () => (await stages(runId)).some((s) => s.stage === 'execute'), 10_000);
    const seen = await stages(runId);
    expect(seen.map((s) => `${s.stage}:${s.state}`)).toEqual([
      'train:running',
      'train:failed',
      'infer:skipped',
      'decide:skipped',
      'execute:skipped',
    ]);
    expect(seen[1]?.error?.code).toBe('SCHED_UNANSWERED');
    expect(hosts.flatMap((h) => detail(h).runs).find((r) => r.runId === runId)).toMatchObject({
      state: 'failed',
      error: { stage: 'train' },
    });
  });
});
