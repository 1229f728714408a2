import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ActorAccess,
  ActorHost,
  ApprovedOrderContract,
  applyPlan,
  type Bus,
  buildUsers,
  connectBus,
  NatsServerProcess,
  renderNatsConfig,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDurables, agentActor } from '../src/index.js';
import { agentPlan, DIRS, forecast, publishForecast, REPO, SWAP } from './support.js';

/**
 * The agent under the NATS user `kokex deploy nats` generates from its declared access: it runs a
 * whole conversation (consumer, stream reads, intent, turn records, chat) with nothing more, and
 * the server refuses it an approval. The chat command runs as a real `kokex` process with piped stdin.
 */
const EMPTY: ActorAccess = { publish: [], subscribe: [], consume: [], kv: [], objectStores: [] };
const plan = agentPlan('perm');
const cleanup: Array<() => Promise<unknown>> = [];
let admin: Bus;
let agentBus: Bus;
let server: NatsServerProcess;
let adminPassword = '';

beforeAll(async () => {
  const users = buildUsers({ actors: { agent: { ...EMPTY, ...(agentActor.access?.([plan]) ?? {}) } } });
  const dir = await mkdtemp(join(tmpdir(), 'kokex-agent-perm-'));
  await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
  server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
  cleanup.push(
    () => rm(dir, { recursive: true, force: true }),
    () => server.stop(),
  );
  const password = (user: string) => users.find((u) => u.user === user)?.password;
  adminPassword = password('admin') ?? '';
  admin = await connectBus({ url: server.url, user: 'admin', password: adminPassword, reconnect: false });
  agentBus = await connectBus({ url: server.url, user: 'agent', password: password('agent'), reconnect: false });
  cleanup.push(
    () => admin.close(),
    () => agentBus.close(),
  );
  await admin.provision();
  await applyPlan(admin, plan);
  const host = new ActorHost({ bus: agentBus, log: captureLogger('error').log, kinds: ['agent'], heartbeatMs: 500 });
  await host.loadPlugin(DIRS.offline);
  await host.loadPlugin(DIRS.agent);
  await host.start();
  cleanup.push(() => host.stop());
  await eventually(async () => Boolean(await admin.jsm.consumers.info(Streams.forecasts, AgentDurables.forecasts).catch(() => null)));
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('the agent under its generated NATS user', () => {
  it('cannot publish an approval', async () => {
    const approved = {
      plan: 'perm',
      venue: 'okx',
      inst: SWAP,
      side: 'buy' as const,
      size: 1,
      type: 'market' as const,
      reduceOnly: false,
      clientOrderId: 'forged01',
    };
    await expect(
      agentBus.publish(ApprovedOrderContract, subject('orderApproved', { venue: 'okx', inst: SWAP }), approved, { id: 'forged' }),
    ).rejects.toThrow(/permission|timeout|no responders/i);
    expect(
      await admin.jsm.streams.getMessage(Streams.orders, { last_by_subj: `kokex.order.approved.okx.${SWAP}` }).catch(() => null),
    ).toBeNull();
  });

  it('runs a forecast-triggered conversation to an intent with nothing but its declared access', async () => {
    await publishForecast(admin, forecast({ pUp: 0.8 }), 'perm-fc');
    await eventually(async () =>
      Boolean(await admin.jsm.streams.getMessage(Streams.orders, { last_by_subj: `kokex.order.intent.perm.${SWAP}` }).catch(() => null)),
    );
    // The intent is stored before the conversation's last records: wait for its end, under load too.
    const lastRecord = async () => {
      const turn = await admin.jsm.streams.getMessage(Streams.agent, { last_by_subj: 'kokex.agent.turn.perm' });
      return JSON.parse(new TextDecoder().decode(turn?.data)).data.record as string;
    };
    await eventually(async () => (await lastRecord()) === 'ended').catch(() => undefined);
    expect(await lastRecord()).toBe('ended');
  });

  it('streams a chat answer to `kokex chat` run as a process with piped stdin', async () => {
    const child = spawn(process.execPath, [join(REPO, 'core/bin/kokex.mjs'), 'chat', 'perm', '--conversation', 'chat-proc-1'], {
      cwd: REPO,
      env: { ...process.env, NATS_URL: server.url, NATS_USER: 'admin', NATS_PASSWORD: adminPassword },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout.on('data', (d) => out.push(String(d)));
    child.stderr.on('data', (d) => out.push(String(d)));
    child.stdin.end('is it time to buy?\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const text = out.join('');
    expect(text, text).toContain('· get_forecast');
    expect(text).toMatch(/P\(up\) 0\.8/);
    expect(text).toMatch(/\[answered · \d turn\(s\)/);
    expect(code).toBe(0);
  });
});
