import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  accessOf,
  type Bus,
  buildUsers,
  CandleContract,
  checkDeclaredConsumers,
  ClockTickContract,
  connectBus,
  consume,
  defineActorKind,
  ErrorCode,
  loadPlanFile,
  NatsServerProcess,
  type Plan,
  renderNatsConfig,
  Streams,
  subject,
  subjectFilter,
} from '../src/index.js';

/** A kind whose consumers depend on the plans: one durable per plan timeframe, as the inferencer's do. */
const configSchema = z.object({ tfs: z.array(z.string()).default([]) });
type ProbeConfig = z.output<typeof configSchema>;
const consumerOf = (tf: string) => ({ stream: Streams.candles, durable: `probe-${tf}`, filter: subjectFilter('candle', { tf }) });

const probe = defineActorKind<ProbeConfig>({
  kind: 'probe',
  description: 'test kind with a bus declaration',
  configSchema,
  configFromPlans: (plans, base) => ({ tfs: [...new Set([...base.tfs, ...plans.map((p) => p.spec.timeframe)])] }),
  create: (ctx) => ({ consumers: ctx.config.tfs.map((tf) => consume({ ...consumerOf(tf), contract: CandleContract }, async () => {})) }),
  bus: {
    publishes: [subjectFilter('clockTick')],
    subscribes: ({ plans }) => plans.map((p) => subjectFilter('live', { tf: p.spec.timeframe })),
    consumes: ({ config }) => config.tfs.map(consumerOf),
    reads: [Streams.clock],
  },
  // What the declaration cannot say stays explicit, and is added to it.
  access: () => ({ publish: [`$JS.API.STREAM.MSG.GET.${Streams.candles}`] }),
});

let plan: Plan;
beforeAll(async () => {
  plan = await loadPlanFile(resolve(__dirname, '../../plans/demo.yaml'));
});

describe('access derived from what a kind declares', () => {
  it('derives publish, subscribe and consumers from the declaration for the plans, plus the explicit extras', () => {
    const tf = plan.spec.timeframe;
    const access = accessOf(probe, [plan]);
    expect(access.publish).toEqual([`$JS.API.STREAM.MSG.GET.${Streams.candles}`, 'kokex.clock.tick.*'].sort());
    expect(access.subscribe).toEqual([`kokex.md.live.*.*.${tf}`]);
    expect(access.consume).toEqual([{ stream: Streams.candles, durable: `probe-${tf}`, filter: `kokex.md.candle.*.*.${tf}` }]);
    expect(access.reads).toEqual([Streams.clock]);
    // No plans, no consumers: the declaration follows the configuration.
    expect(accessOf(probe, []).consume).toEqual([]);
    expect(probe.access?.([plan])).toEqual(access);
  });

  it('keeps an explicit access() alone working for kinds that declare nothing', () => {
    const legacy = defineActorKind({
      kind: 'legacy',
      description: 'explicit access only',
      configSchema: z.object({}),
      create: () => ({}),
      access: () => ({ publish: ['kokex.order.intent.>'] }),
    });
    expect(accessOf(legacy, [])).toEqual({ publish: ['kokex.order.intent.>'], subscribe: [], consume: [], kv: [], objectStores: [] });
  });

  it('refuses a consumer the logic runs but the declaration does not list', () => {
    const config = { tfs: ['1m'] };
    const declared = consume({ ...consumerOf('1m'), contract: CandleContract }, async () => {});
    expect(() => checkDeclaredConsumers(probe, config, [], [declared])).not.toThrow();
    const sneaky = consume({ stream: Streams.candles, durable: 'probe-1m', filter: 'kokex.md.candle.>', contract: CandleContract }, async () => {});
    expect(() => checkDeclaredConsumers(probe, config, [], [declared, sneaky])).toThrow(
      expect.objectContaining({ code: ErrorCode.ActorConfig, message: expect.stringContaining('probe-1m (kokex.md.candle.>)') }),
    );
  });
});

describe('derived access on a real nats-server', () => {
  let server: NatsServerProcess;
  let dir: string;
  let passwords: Record<string, string>;
  const buses: Bus[] = [];
  const as = async (user: string) => {
    const bus = await connectBus({ url: server.url, user, password: passwords[user], reconnect: false });
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kokex-derived-'));
    const users = buildUsers({ actors: { probe: accessOf(probe, [plan]) } });
    passwords = Object.fromEntries(users.map((u) => [u.user, u.password]));
    await writeFile(join(dir, 'nats.conf'), renderNatsConfig(users));
    server = await NatsServerProcess.start({ storeDir: join(dir, 'store'), args: ['-c', join(dir, 'nats.conf')] });
    await (await as('admin')).provision();
  });

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets the kind create its declared consumer and publish its declared subject, and nothing else', async () => {
    const tf = plan.spec.timeframe;
    const bus = await as('probe');
    const c = consumerOf(tf);
    await bus.jsm.consumers.add(c.stream, { durable_name: c.durable, filter_subject: c.filter });
    await expect(
      bus.jsm.consumers.add(Streams.candles, { durable_name: 'probe-other', filter_subject: 'kokex.md.candle.>' }),
    ).rejects.toThrow(/permission|timeout/i);
    const tick = await bus.publish(ClockTickContract, subject('clockTick', { tf }), { tf, barOpen: 0, boundary: 60_000, lateMs: 0 }, {
      id: 'derived-1',
    });
    expect(tick.stream).toBe(Streams.clock);
    // A declared read: the last stored message of a subject, from that stream and no other.
    const last = await bus.jsm.streams.getMessage(Streams.clock, { last_by_subj: subject('clockTick', { tf }) });
    expect(ClockTickContract.decode(last?.data ?? new Uint8Array()).id).toBe('derived-1');
    await expect(bus.jsm.streams.getMessage(Streams.orders, { last_by_subj: 'kokex.order.intent.demo.X' })).rejects.toThrow(
      /permission|timeout/i,
    );
    await expect(
      bus.publish(ClockTickContract, 'kokex.plan.changed.demo', { tf, barOpen: 0, boundary: 0, lateMs: 0 }, { id: 'derived-2' }),
    ).rejects.toThrow(/permission|timeout|no responders/i);
  });
});
