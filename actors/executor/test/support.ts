import { resolve } from 'node:path';
import {
  ActorHost,
  type ApprovedOrder,
  ApprovedOrderContract,
  type Bus,
  type OrderEvent,
  OrderEventContract,
  type OrderVerdict,
  OrderVerdictContract,
  parsePlan,
  type Plan,
  Streams,
  subject,
} from '@kokex/core';
import { approvingVerdict, captureLogger, eventually } from '@kokex/core/testing';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';

/** The executor against the OKX simulator (or the paper venue), fed approvals the way the guard stores them. */
export const REPO = resolve(import.meta.dirname, '../../..');
export const PLUGIN_DIRS = {
  okx: resolve(REPO, 'plugins/okx'),
  paper: resolve(REPO, 'plugins/paper'),
  executor: resolve(REPO, 'actors/executor'),
  guard: resolve(REPO, 'actors/risk-guard'),
};
export const SWAP = 'BTC-USDT-SWAP';

export async function simulator(): Promise<{ sim: OkxSimulator; port: number }> {
  const bars = syntheticCandles({ count: 400, seed: 5 });
  const sim = new OkxSimulator({ data: bars, startAt: (bars[200] as { ts: number }).ts, idleTimeoutMs: 0 });
  return { sim, port: (await sim.start({ port: 0 })).port };
}

/** Executor settings for a simulator on `port`: fast reconnects and retries, a short ack wait. */
export function executorSettings(port: number, ackWaitMs = 30_000) {
  return {
    adapters: {
      okx: { simPort: port, ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 }, http: { maxRetries: 0, timeoutMs: 5000 } },
    },
    ackWaitMs,
    reconnectMs: 200,
    retryBackoffMs: [50, 100],
  };
}

export function simPlan(name: string, mode = 'sim', extra = ''): Plan {
  const yaml = `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: ${mode}${extra} }
  instrument: ${SWAP}
  timeframe: 1m
  risk: { maxNotional: 5000, maxPositionNotional: 9000, maxDailyLoss: 100, requireTradeableForecast: false, priceBand: 0.5 }`;
  return parsePlan(yaml, `${name}.yaml`);
}

export async function hostWith(bus: Bus, kinds: string[], config: Record<string, unknown>, dirs: string[]): Promise<ActorHost> {
  const host = new ActorHost({ bus, log: captureLogger('error').log, kinds, config, heartbeatMs: 200 });
  for (const dir of dirs) await host.loadPlugin(dir);
  await host.start();
  return host;
}

export async function venuesReady(host: ActorHost): Promise<void> {
  await eventually(() => {
    const venues = host.statuses().find((s) => s.kind === 'executor')?.detail.venues as Array<{ state: string }> | undefined;
    return venues?.every((v) => v.state === 'ready') === true;
  });
}

export function approval(plan: string, clientOrderId: string, fields: Partial<ApprovedOrder> = {}): ApprovedOrder {
  return { plan, venue: 'okx', inst: SWAP, side: 'buy', size: 1, type: 'market', reduceOnly: false, clientOrderId, ...fields };
}

/** Stores the verdict that approves `order` as the guard does (`verdict:{intent id}`). */
export async function verdictFor(bus: Bus, order: ApprovedOrder, fields: Partial<OrderVerdict> = {}): Promise<void> {
  const verdict = approvingVerdict(order, fields);
  await bus.publish(OrderVerdictContract, subject('orderVerdict', { plan: order.plan, inst: order.inst }), verdict, {
    id: `verdict:intent:${order.clientOrderId}`,
  });
}

/** Stores an approval alone, with no verdict behind it (what a forger could do). */
export async function forge(bus: Bus, order: ApprovedOrder, id = `approved:${order.clientOrderId}`): Promise<void> {
  await bus.publish(ApprovedOrderContract, subject('orderApproved', { venue: order.venue, inst: order.inst }), order, { id });
}

/** Stores a verdict and its approval as the guard does (client order id in the message id). */
export async function approve(bus: Bus, order: ApprovedOrder): Promise<void> {
  await verdictFor(bus, order);
  await forge(bus, order);
}

export async function eventsOf(bus: Bus, clientOrderId: string): Promise<OrderEvent[]> {
  const out: OrderEvent[] = [];
  for (let seq = 1; ; ) {
    const msg = await bus.jsm.streams.getMessage(Streams.orders, { next_by_subj: 'kokex.order.event.>', seq } as never).catch(() => null);
    if (!msg) return out.filter((e) => e.clientOrderId === clientOrderId);
    out.push(OrderEventContract.decode(msg.data).data);
    seq = msg.seq + 1;
  }
}

export async function awaitEvent(bus: Bus, clientOrderId: string, kind: OrderEvent['kind'], timeoutMs = 10_000): Promise<OrderEvent> {
  let found: OrderEvent | undefined;
  await eventually(async () => {
    found = (await eventsOf(bus, clientOrderId)).find((e) => e.kind === kind);
    return found !== undefined;
  }, timeoutMs);
  return found as OrderEvent;
}
