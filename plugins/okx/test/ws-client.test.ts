import type { Candle } from '@kokex/core';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { OkxCredentialsMissingError, OkxError, OkxErrorCode, OkxWsError } from '../src/index.js';
import { type SimHarness, startSim, waitFor } from './helpers.js';

const MIN = 60_000;
const data = syntheticCandles({ count: 3000, seed: 33 });
const START_AT = (data[0]?.ts as number) + 1000 * MIN;

let h: SimHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Collects candles (all, and closed 1m ones by ts) from a client. */
function recordCandles(client: ReturnType<SimHarness['ws']>) {
  const all: Candle[] = [];
  const closed: Candle[] = [];
  client.on('candle', (c) => {
    all.push(c);
    if (c.confirmed && c.tf === '1m') closed.push(c);
  });
  return { all, closed, closedTs: () => closed.map((c) => c.ts) };
}

function contiguous(ts: number[]): boolean {
  return ts.every((t, i) => i === 0 || t - (ts[i - 1] as number) === MIN);
}

describe('OkxWsClient market data against the simulator', () => {
  it('streams forming updates and one closed candle per bar, matching the data', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws();
    const rec = recordCandles(client);
    await client.subscribeCandles('BTC-USDT', ['1m', '5m']);
    h.sim.stepBars(10);
    await waitFor(() => rec.closed.length === 10, 4000, '10 closed candles');
    expect(rec.closedTs()).toEqual(Array.from({ length: 10 }, (_, i) => START_AT + i * MIN));
    for (const c of rec.closed) {
      const src = data.find((d) => d.ts === c.ts);
      expect([c.open, c.high, c.low, c.close, c.volume]).toEqual([src?.open, src?.high, src?.low, src?.close, src?.volume]);
      expect(c.receivedAt).toBeGreaterThan(0);
    }
    expect(rec.all.some((c) => !c.confirmed && c.tf === '1m')).toBe(true);
    expect(rec.all.filter((c) => c.tf === '5m' && c.confirmed).map((c) => c.ts)).toEqual([START_AT, START_AT + 5 * MIN]);
    expect(client.connections()).toHaveLength(1);
  });

  it('rejects a subscription OKX refuses, with the venue code, and forgets it', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws();
    const err = await client.subscribe([{ channel: 'candle1s', instId: 'BTC-USDT' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OkxWsError);
    expect(err).toMatchObject({ code: OkxErrorCode.WsSubscribe, okxCode: '60018' });
    expect(client.subscriptions()).toEqual([]);
  });

  it('reconnects with backoff after a dropped connection and resubscribes every arg', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws();
    const rec = recordCandles(client);
    await client.subscribeCandles('BTC-USDT', ['1m', '1H']);
    await client.subscribeTickers('BTC-USDT');
    const reconnected = client.next('reconnected');
    expect(h.sim.dropConnections()).toBe(2);
    expect(await reconnected).toMatchObject({ reason: 'dropped' });
    await waitFor(() => client.connections().every((c) => c.ready) && client.stats().reconnects === 2);
    h.sim.stepBars(3);
    await waitFor(() => rec.closed.length === 3);
    expect(rec.closedTs()).toEqual([START_AT, START_AT + MIN, START_AT + 2 * MIN]);
    expect(
      h.sim
        .connections()
        .map((c) => c.subscriptions)
        .sort(),
    ).toEqual([1, 2]);
    expect(client.stats().disconnects).toBe(2);
  });

  it('handles 64008 make-before-break: the new socket is subscribed before the old one goes', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws();
    const rec = recordCandles(client);
    const events: string[] = [];
    client.on('disconnected', () => events.push('disconnected'));
    client.on('notice', (n) => events.push(`notice:${n.code}`));
    client.on('reconnected', (r) => events.push(`reconnected:${r.reason}`));
    await client.subscribeCandles('BTC-USDT', '1m');
    const oldConnId = h.sim.connections()[0]?.connId;
    h.sim.sendNotice({}, 5000); // the server would only cut the old socket 5 s later
    h.sim.stepBars(1); // still delivered by the old socket
    await waitFor(() => events.includes('reconnected:service-upgrade'));
    expect(events).toEqual(['notice:64008', 'reconnected:service-upgrade']);
    // The client let go of the old socket itself, long before the server's cut.
    await waitFor(() => h?.sim.connections().length === 1);
    expect(h.sim.connections()[0]?.connId).not.toBe(oldConnId);
    expect(h.sim.stats().wsConnections).toBe(2);
    h.sim.stepBars(3);
    await waitFor(() => rec.closed.length >= 4);
    expect(contiguous(rec.closedTs())).toBe(true);
    expect(new Set(rec.closedTs()).size).toBe(rec.closed.length);
    expect(client.stats().serviceUpgrades).toBe(1);
  });

  it('sends text ping after silence and keeps the socket while pong comes back', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws({ pingIntervalMs: 40, pongTimeoutMs: 500 });
    await client.subscribeCandles('BTC-USDT', '1m');
    await waitFor(() => client.stats().pongsReceived >= 3);
    expect(h.sim.stats().pingsAnswered).toBeGreaterThanOrEqual(3);
    expect(client.stats().reconnects).toBe(0);
  });

  it('reconnects when a ping goes unanswered', async () => {
    h = await startSim({ data, startAt: START_AT, faults: { dropPongs: true } });
    const client = h.ws({ pingIntervalMs: 40, pongTimeoutMs: 60 });
    await client.subscribeCandles('BTC-USDT', '1m');
    await waitFor(() => client.stats().heartbeatTimeouts >= 1 && client.stats().reconnects >= 1);
    h.sim.setFaults({ dropPongs: false });
    await waitFor(() => client.stats().pongsReceived >= 1);
    expect(client.subscriptions()).toHaveLength(1);
  });

  it('makes duplicated and reordered pushes observable, and loses no closed bar', async () => {
    h = await startSim({ data, startAt: START_AT, seed: 7, faults: { duplicatePushes: 0.3, reorderPushes: 0.3 } });
    const client = h.ws();
    const rec = recordCandles(client);
    await client.subscribeCandles('BTC-USDT', '1m');
    h.sim.stepBars(40);
    h.sim.setFaults({ duplicatePushes: 0, reorderPushes: 0 });
    h.sim.stepBars(1); // releases whatever is still held back
    await waitFor(() => new Set(rec.closedTs()).size === 41, 4000, '41 distinct closed bars');
    const stats = client.stats();
    expect(stats.duplicateCandles).toBeGreaterThan(0);
    expect(stats.outOfOrderCandles).toBeGreaterThan(0);
    expect([...new Set(rec.closedTs())].sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => START_AT + i * MIN));
  });

  it('survives malformed frames and skipped pushes: typed errors, no crash, data keeps flowing', async () => {
    h = await startSim({ data, startAt: START_AT, seed: 3, faults: { malformedFrames: 0.5, skipPushes: 0.2 } });
    const client = h.ws();
    const rec = recordCandles(client);
    const errors: OkxError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.subscribeCandles('BTC-USDT', '1m');
    h.sim.stepBars(20);
    await waitFor(() => client.stats().malformedFrames + client.stats().parseErrors > 0);
    h.sim.setFaults({ malformedFrames: 0, skipPushes: 0 });
    const t = h.sim.now();
    h.sim.stepBars(3);
    await waitFor(() => [t, t + MIN, t + 2 * MIN].every((ts) => rec.closedTs().includes(ts)), 4000, 'the next three closes');
    expect(errors.length).toBeGreaterThan(0);
    expect(
      errors.every((e) => e instanceof OkxError && [OkxErrorCode.MalformedResponse, OkxErrorCode.Parse].includes(e.code as never)),
    ).toBe(true);
    expect(client.stats().candleGaps).toBeGreaterThan(0);
  });

  it('spreads args over several connections when one is full', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws({ maxArgsPerConnection: 2 });
    await client.subscribeCandles('BTC-USDT', ['1m', '3m', '5m', '15m', '1H']);
    expect(client.connections().map((c) => c.args)).toEqual([2, 2, 1]);
    expect(h.sim.connections()).toHaveLength(3);
    await client.unsubscribe([{ channel: 'candle1m', instId: 'BTC-USDT' }]);
    expect(client.subscriptions()).toHaveLength(4);
  });

  it('comes back after the simulator is killed and restarted on the same port', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws({ reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const rec = recordCandles(client);
    await client.subscribeCandles('BTC-USDT', '1m');
    const port = h.address.port;
    await h.sim.stop();
    await waitFor(() => client.stats().disconnects === 1);
    const second = new OkxSimulator({ data, startAt: START_AT + 5 * MIN });
    await second.start({ port });
    try {
      await waitFor(() => client.stats().reconnects === 1 && client.connections()[0]?.ready, 4000, 'reconnect to the new simulator');
      second.stepBars(2);
      await waitFor(() => rec.closed.length === 2);
      expect(rec.closedTs()).toEqual([START_AT + 5 * MIN, START_AT + 6 * MIN]);
    } finally {
      await second.stop();
    }
  });
});

describe('OkxWsClient private channels: login', () => {
  it('needs credentials for private channels', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws({ credentials: undefined });
    await expect(client.subscribeOrders()).rejects.toBeInstanceOf(OkxCredentialsMissingError);
  });

  it('reports a refused login as OKX_WS_LOGIN with the venue code', async () => {
    h = await startSim({ data, startAt: START_AT });
    const client = h.ws({ credentials: { apiKey: 'sim-key', secretKey: 'wrong', passphrase: 'sim-pass' } });
    const err = await client.subscribeOrders().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: OkxErrorCode.WsLogin, okxCode: '60007' });
  });
});
