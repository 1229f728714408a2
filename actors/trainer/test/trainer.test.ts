import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorHost,
  applyPlan,
  Buckets,
  fetchArtifact,
  latestModel,
  ManualClock,
  type ModelReady,
  ModelReadyContract,
  ObjectStores,
  type Plan,
  type TrainReply,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { GRAPH_NAMES } from '@kokex/kronos-runtime';
import {
  acquireLease,
  checkKronosPackage,
  checkPython,
  DEFAULT_KRONOS_DIR,
  leaseHolder,
  leaseKey,
  runTrainingJob,
  targetFromPlan,
  TrainerErrorCode,
  TrainerSubjects,
  trainCommand,
  trainerConfigSchema,
} from '../src/index.js';
import {
  CAN_TRAIN,
  CANDLES_START,
  collectProgress,
  HOUR,
  PYTHON,
  publishCandles,
  SKIP_TRAINING_REASON,
  syntheticCandles,
  TINY_TRAINING,
  TRAINER_DIR,
  testPlan,
} from './support.js';

let nats: TestNats;
let workDir: string;
const hosts: ActorHost[] = [];
/** After the test candles, so their window is the newest 30 days. */
const CLOCK_START = CANDLES_START + 400 * HOUR;

async function trainerHost(plans: Plan[], options: { clock?: ManualClock; trainer?: Record<string, unknown> } = {}): Promise<ActorHost> {
  // Plans first: a host reads them on start, so the trainer begins with its targets.
  for (const plan of plans) await applyPlan(nats.bus, plan);
  const trainer = { python: PYTHON, workDir, progressIntervalMs: 0, training: TINY_TRAINING, ...options.trainer };
  const host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('warn').log,
    clock: options.clock ?? new ManualClock(CLOCK_START),
    config: { trainer },
  });
  hosts.push(host);
  await host.loadPlugin(TRAINER_DIR);
  await host.start();
  return host;
}

async function requestTraining(plan: string): Promise<TrainReply> {
  const reply = await nats.bus.nc.request(TrainerSubjects.train, new TextEncoder().encode(JSON.stringify({ plan })), { timeout: 10_000 });
  return JSON.parse(new TextDecoder().decode(reply.data)) as TrainReply;
}

async function readyMessages(): Promise<ModelReady[]> {
  const out: ModelReady[] = [];
  const consumer = await nats.bus.js.consumers.get('MODELS', { filter_subjects: 'kokex.model.ready.>' });
  const info = await consumer.info(true);
  if (info.num_pending === 0) return out;
  for await (const m of await consumer.fetch({ max_messages: info.num_pending, expires: 2000 }))
    out.push(ModelReadyContract.decode(m.data).data);
  return out;
}

async function artifactCount(): Promise<number> {
  return (await (await nats.bus.objectStore(ObjectStores.artifacts)).list()).length;
}

async function registryHas(inst: string): Promise<boolean> {
  const kv = await nats.bus.kv(Buckets.models);
  const entry = await kv.get(`kronos.${inst}.1H`);
  return entry?.operation === 'PUT' && entry.length > 0;
}

beforeAll(async () => {
  nats = await startTestNats();
  workDir = await mkdtemp(join(tmpdir(), 'kokex-trainer-jobs-'));
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});
afterAll(async () => {
  await nats?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('trainer without Python', () => {
  it('fails a job with the missing interpreter and the apt packages to install, registering nothing', async () => {
    await publishCandles(nats.bus, syntheticCandles('NOPY-USDT', 50));
    const progress = collectProgress(nats.bus);
    await trainerHost([testPlan('trainer-nopy', 'NOPY-USDT')], { trainer: { python: '/nonexistent/bin/python3' } });
    const reply = await requestTraining('trainer-nopy');
    expect(reply.ok).toBe(true);
    await eventually(() => progress.messages.some((p) => p.stage === 'failed'));
    const failed = progress.messages.find((p) => p.stage === 'failed');
    expect(failed?.message).toContain(TrainerErrorCode.PythonMissing);
    expect(failed?.message).toContain('apt-get install -y python3 python3-torch python3-onnx python3-numpy');
    expect(await registryHas('NOPY-USDT')).toBe(false);
    progress.stop();
  });

  it('names the missing module and the apt packages when torch cannot be imported, and a missing Kronos package', async () => {
    // `-S` leaves out site-packages: an interpreter without torch, here or on a bare machine.
    const bare = join(workDir, 'python-without-packages');
    await writeFile(bare, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`, { mode: 0o755 });
    const check = checkPython(bare);
    if (existsSync(PYTHON)) {
      await expect(check).rejects.toMatchObject({ code: TrainerErrorCode.PythonPackagesMissing });
      await expect(check).rejects.toThrow(
        /no module named (torch|onnx|numpy).*apt-get install -y python3-torch python3-onnx python3-numpy/,
      );
    } else await expect(check).rejects.toMatchObject({ code: TrainerErrorCode.PythonMissing });
    await rm(bare);
    await expect(checkKronosPackage(join(workDir, 'nowhere'))).rejects.toMatchObject({ code: TrainerErrorCode.KronosMissing });
    await expect(checkKronosPackage(DEFAULT_KRONOS_DIR)).resolves.toBeUndefined();
  });

  it('refuses a plan it does not know, naming the ones it does, and leaves requests to others while paused', async () => {
    const host = await trainerHost([testPlan('trainer-known', 'KNOWN-USDT')]);
    const reply = await requestTraining('no-such-plan');
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe(TrainerErrorCode.UnknownTarget);
    expect(reply.error.message).toContain('trainer-known');
    const trainer = host.instances().find((i) => i.kind === 'trainer');
    trainer?.send('PAUSE');
    await trainer?.waitFor(['paused']);
    // The only trainer is paused: nobody takes the request.
    await expect(requestTraining('trainer-known')).rejects.toThrow(/503|no responders/i);
    trainer?.send('RESUME');
    await trainer?.waitFor(['running']);
    expect((await requestTraining('no-such-plan')).ok).toBe(false);
  });

  it('refuses an on-demand job while another replica holds the lease, and a scheduled one skips', async () => {
    await trainerHost([testPlan('trainer-leased', 'LEASED-USDT')]);
    const foreign = await acquireLease(nats.bus, leaseKey('LEASED-USDT', '1H'), {
      jobId: 'other-job',
      instanceId: 'trainer-elsewhere',
      hostId: 'other-host',
      plan: 'trainer-leased',
      since: CLOCK_START,
    });
    const reply = await requestTraining('trainer-leased');
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error).toMatchObject({
      code: TrainerErrorCode.LeaseHeld,
      retryable: true,
      data: { jobId: 'other-job', hostId: 'other-host' },
    });
    // A scheduled run finding the lease taken is the other replica's run: skipped, not failed.
    const env = {
      bus: nats.bus,
      clock: new ManualClock(CLOCK_START),
      log: captureLogger('warn').log,
      config: trainerConfigSchema.parse({ python: PYTHON, workDir }),
      instanceId: 'trainer-here',
      hostId: 'this-host',
      signal: new AbortController().signal,
    };
    const target = targetFromPlan(testPlan('trainer-leased', 'LEASED-USDT'));
    const scheduled = await runTrainingJob(env, { jobId: 'scheduled-job', target, trigger: 'schedule', slot: CLOCK_START });
    expect(scheduled).toMatchObject({ state: 'skipped', reason: expect.stringContaining('job other-job on other-host') });
    await expect(runTrainingJob(env, { jobId: 'requested-job', target, trigger: 'request' })).rejects.toMatchObject({
      code: TrainerErrorCode.LeaseHeld,
    });
    await foreign.release();
    expect(await leaseHolder(nats.bus, leaseKey('LEASED-USDT', '1H'))).toBeUndefined();
  });
});

describe.skipIf(!CAN_TRAIN)('trainer with Python training', () => {
  it('trains on request: progress bar, progress messages, registry record, artifacts and model.ready', async () => {
    await publishCandles(nats.bus, syntheticCandles('E2E-USDT', 300));
    const progress = collectProgress(nats.bus);
    const clock = new ManualClock(CLOCK_START);
    await trainerHost([testPlan('trainer-e2e', 'E2E-USDT')], { clock });
    const printed: string[] = [];
    const bars: string[] = [];
    const code = await trainCommand.run(['trainer-e2e', '--wait', '--timeout', '2m'], {
      print: (line) => printed.push(line),
      progress: (line) => bars.push(line),
      signal: new AbortController().signal,
      env: { NATS_URL: nats.url },
    });
    expect(code, printed.join('\n')).toBe(0);
    expect(printed[0]).toMatch(/^job [0-9a-f-]{36}: trainer-e2e \(okx E2E-USDT 1H\) (queued|running) on trainer-/);
    expect(bars.some((b) => /^\[█*░*\]\s+\d+% predictor epoch 1 step 2\/2 loss/.test(b))).toBe(true);
    expect(bars.at(-1)).toMatch(/^\[█{30}\] 100% done/);

    const record = await latestModel(nats.bus, 'kronos', 'E2E-USDT', '1H', clock.now());
    expect(record).toMatchObject({ inst: 'E2E-USDT', tf: '1H', registeredAt: CLOCK_START, expiresAt: CLOCK_START + 7 * 24 * HOUR });
    const card = JSON.parse(new TextDecoder().decode(await fetchArtifact(nats.bus, record.artifacts['card.json'] as string)));
    expect(card).toMatchObject({ version: record.version, data: { rows: 300, venue: 'okx', instrument: 'E2E-USDT', timeframe: '1h' } });
    // Every graph the card lists, the card itself and the run's config.
    expect(Object.keys(record.artifacts).sort()).toEqual([...Object.keys(card.files), 'card.json', 'config.json'].sort());
    // Exactly the graphs the runtime that serves the model opens.
    expect(Object.keys(card.files).sort()).toEqual(GRAPH_NAMES.map((g) => `${g}.onnx`).sort());

    const ready = (await readyMessages()).filter((r) => r.inst === 'E2E-USDT');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({ name: 'kronos', version: record.version, createdAt: CLOCK_START, expiresAt: record.expiresAt });
    expect(ready[0]?.artifacts).toEqual(Object.values(record.artifacts).sort());
    expect(ready[0]?.metrics['predictor.best_val_loss']).toBeGreaterThan(0);

    const stages = progress.messages.filter((p) => p.inst === 'E2E-USDT').map((p) => p.stage);
    expect(stages[0]).toBe('prepare');
    expect(stages.at(-1)).toBe('done');
    for (const stage of ['tokenizer', 'predictor', 'export', 'store'] as const) expect(stages).toContain(stage);
    expect(progress.messages.some((p) => p.stage === 'tokenizer' && p.step === 2 && p.totalSteps === 2 && p.rate !== undefined)).toBe(true);
    // Validation messages carry the stage's total too, so a bar can place them.
    expect(progress.messages.some((p) => p.stage === 'predictor' && p.valLoss !== undefined && p.totalSteps === 2)).toBe(true);
    // The job's directory goes and its lease is released (just after the done message).
    await eventually(async () => (await readdir(workDir)).length === 0);
    await eventually(async () => (await leaseHolder(nats.bus, leaseKey('E2E-USDT', '1H'))) === undefined);
    progress.stop();
  });

  it('trains on the plan schedule as the simulated clock passes it', async () => {
    await publishCandles(nats.bus, syntheticCandles('SCHED-USDT', 300));
    const clock = new ManualClock(CLOCK_START + 4 * 60_000);
    const host = await trainerHost([testPlan('trainer-sched', 'SCHED-USDT', '5m')], { clock });
    const trainer = host.instances().find((i) => i.kind === 'trainer');
    expect(trainer?.status().detail.schedules).toContainEqual({
      plan: 'trainer-sched',
      schedule: '5m',
      next: new Date(CLOCK_START + 5 * 60_000).toISOString(),
    });
    expect(await registryHas('SCHED-USDT')).toBe(false);
    clock.advance(60_000);
    await eventually(() => registryHas('SCHED-USDT'), 60_000, 100);
    await eventually(async () => (await readyMessages()).some((r) => r.inst === 'SCHED-USDT'));
    const record = await latestModel(nats.bus, 'kronos', 'SCHED-USDT', '1H', clock.now());
    expect(record.registeredAt).toBe(CLOCK_START + 5 * 60_000);
  });

  it('runs one job per instrument and timeframe across replicas; a failing job reports its stderr and registers nothing', async () => {
    // Enough bars for LEASE-USDT; far too few for SHORT-USDT (the Python side refuses them).
    await publishCandles(nats.bus, syntheticCandles('LEASE-USDT', 300));
    await publishCandles(nats.bus, syntheticCandles('SHORT-USDT', 40));
    const progress = collectProgress(nats.bus);
    const plans = [testPlan('trainer-lease', 'LEASE-USDT'), testPlan('trainer-short', 'SHORT-USDT')];
    await trainerHost(plans);
    await trainerHost(plans);
    const artifactsBefore = await artifactCount();

    const first = await requestTraining('trainer-lease');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    await eventually(() => progress.messages.some((p) => p.jobId === first.jobId));
    // Whichever replica takes the second request: it joins the job, or finds the lease taken.
    const second = await requestTraining('trainer-lease');
    if (second.ok) expect(second).toMatchObject({ jobId: first.jobId, joined: true });
    else expect(second.error.code).toBe(TrainerErrorCode.LeaseHeld);

    const short = await requestTraining('trainer-short');
    expect(short.ok).toBe(true);
    if (!short.ok) return;
    await eventually(() => progress.messages.some((p) => p.jobId === first.jobId && p.stage === 'done'), 60_000, 100);
    await eventually(() => progress.messages.some((p) => p.jobId === short.jobId && p.stage === 'failed'), 60_000, 100);

    const jobs = new Set(progress.messages.filter((p) => p.inst === 'LEASE-USDT').map((p) => p.jobId));
    expect([...jobs]).toEqual([first.jobId]);
    expect((await readyMessages()).filter((r) => r.inst === 'LEASE-USDT')).toHaveLength(1);

    const failed = progress.messages.find((p) => p.jobId === short.jobId && p.stage === 'failed');
    expect(failed?.message).toContain(TrainerErrorCode.JobFailed);
    expect(failed?.message).toMatch(/the split leaves \d+ training and \d+ validation rows/);
    expect(await registryHas('SHORT-USDT')).toBe(false);
    expect((await readyMessages()).some((r) => r.inst === 'SHORT-USDT')).toBe(false);
    // One new model's artifacts (its graphs, card.json and config.json), none of the failed job's.
    expect((await artifactCount()) - artifactsBefore).toBe(GRAPH_NAMES.length + 2);
    progress.stop();
  });

  it('cancels a running job on drain: the process is killed, the lease released, the job reported', async () => {
    await publishCandles(nats.bus, syntheticCandles('DRAIN-USDT', 300));
    const progress = collectProgress(nats.bus);
    // Long enough that it is still training when the host stops.
    const host = await trainerHost([testPlan('trainer-drain', 'DRAIN-USDT')], {
      trainer: { training: { ...TINY_TRAINING, stepsPerEpoch: 100_000 } },
    });
    const reply = await requestTraining('trainer-drain');
    expect(reply.ok).toBe(true);
    await eventually(() => progress.messages.some((p) => p.inst === 'DRAIN-USDT' && p.stage === 'tokenizer'), 30_000, 50);
    const stopping = Date.now();
    await host.stop();
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const last = progress.messages.filter((p) => p.inst === 'DRAIN-USDT').at(-1);
    expect(last?.stage).toBe('failed');
    expect(last?.message).toContain(TrainerErrorCode.JobCancelled);
    expect(await leaseHolder(nats.bus, leaseKey('DRAIN-USDT', '1H'))).toBeUndefined();
    expect(await registryHas('DRAIN-USDT')).toBe(false);
    expect(await readdir(workDir)).toEqual([]);
    progress.stop();
  });
});

if (!CAN_TRAIN) console.warn(`trainer tests: ${SKIP_TRAINING_REASON}`);
