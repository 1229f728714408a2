import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OkxSimulator, type OkxSimulatorAddress, syntheticCandles } from '../src/index.js';
import { KEY, loginArgs, RawWs, waitFor } from './helpers.js';

const MIN = 60_000;
const START = Date.UTC(2025, 5, 1);
const data = syntheticCandles({ count: 3000, start: START, seed: 5 });

describe('simulator WebSocket: protocol facts (okx-v5.md §1–4)', () => {
  const sim = new OkxSimulator({
    data,
    startAt: START + 1000 * MIN,
    credentials: [{ ...KEY }, { apiKey: 'live-key', secretKey: 's', passphrase: 'p', demo: false }],
  });
  let urls: OkxSimulatorAddress['wsUrls'];
  const sockets: RawWs[] = [];
  const open = async (endpoint: keyof typeof urls) => {
    const ws = await RawWs.open(urls[endpoint]);
    sockets.push(ws);
    return ws;
  };
  beforeAll(async () => {
    urls = (await sim.start()).wsUrls;
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await sim.stop();
  });

  it('answers the text frame ping with the text frame pong', async () => {
    const ws = await open('public');
    ws.send('ping');
    await waitFor(() => ws.frames.includes('pong'));
  });

  it('ignores the query string on the URL (demo ?brokerId=9999)', async () => {
    const ws = await RawWs.open(`${urls.business}?brokerId=9999`);
    sockets.push(ws);
    ws.send({ id: 'q1', op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    await ws.next((f) => f.event === 'subscribe' && f.id === 'q1');
  });

  it('acknowledges each arg separately, echoing the request id', async () => {
    const ws = await open('business');
    ws.send({
      id: 'abc123',
      op: 'subscribe',
      args: [
        { channel: 'candle1m', instId: 'BTC-USDT' },
        { channel: 'candle1H', instId: 'BTC-USDT' },
      ],
    });
    await waitFor(() => ws.json().filter((f) => f.event === 'subscribe').length === 2);
    const acks = ws.json().filter((f) => f.event === 'subscribe');
    expect(acks.map((a) => a.arg.channel).sort()).toEqual(['candle1H', 'candle1m']);
    expect(acks.every((a) => a.id === 'abc123' && typeof a.connId === 'string')).toBe(true);
  });

  it('enforces channel routing: candles only on /business, account channels only on /private after login', async () => {
    const pub = await open('public');
    pub.send({ id: 'e1', op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
    expect(await pub.next((f) => f.id === 'e1')).toMatchObject({ event: 'error', code: '60018' });
    pub.send({ id: 'e2', op: 'subscribe', args: [{ channel: 'orders', instType: 'ANY' }] });
    expect(await pub.next((f) => f.id === 'e2')).toMatchObject({ event: 'error', code: '60008' });
    const biz = await open('business');
    biz.send({ id: 'e3', op: 'subscribe', args: [{ channel: 'tickers', instId: 'BTC-USDT' }] });
    expect(await biz.next((f) => f.id === 'e3')).toMatchObject({ event: 'error', code: '64002' });
    const priv = await open('private');
    priv.send({ id: 'e4', op: 'subscribe', args: [{ channel: 'orders', instType: 'ANY' }] });
    expect(await priv.next((f) => f.id === 'e4')).toMatchObject({ event: 'error', code: '60011' });
    priv.send('{not json');
    expect(await priv.next((f) => f.code === '60012')).toMatchObject({ event: 'error' });
  });

  it('verifies the login signature (seconds timestamp, GET/users/self/verify) with OKX codes', async () => {
    const codes: string[] = [];
    for (const arg of [
      { ...loginArgs(), sign: 'AAAA' },
      { ...loginArgs(), passphrase: 'nope' },
      loginArgs(KEY, Date.now() * 1000), // ms-style timestamp
      { ...loginArgs(), apiKey: 'nobody' },
      loginArgs({ apiKey: 'live-key', secretKey: 's', passphrase: 'p' }),
    ]) {
      const ws = await open('private');
      ws.send({ op: 'login', args: [arg] });
      codes.push((await ws.next((f) => f.event === 'error')).code);
    }
    expect(codes).toEqual(['60007', '60024', '60006', '60005', '50101']);
    const ok = await open('private');
    ok.send({ op: 'login', args: [loginArgs()] });
    expect(await ok.next((f) => f.event === 'login')).toMatchObject({ code: '0', msg: '' });
    ok.send({ op: 'login', args: [loginArgs()] });
    expect(await ok.next((f) => f.event === 'error')).toMatchObject({ code: '60031' });
  });

  it('after login: channel-conn-count on a new private subscription, snapshots for account and positions', async () => {
    const ws = await open('private');
    ws.send({ op: 'login', args: [loginArgs()] });
    await ws.next((f) => f.event === 'login');
    ws.send({ op: 'subscribe', args: [{ channel: 'orders', instType: 'ANY' }] });
    expect(await ws.next((f) => f.event === 'channel-conn-count')).toMatchObject({ channel: 'orders', connCount: '1' });
    ws.send({ op: 'subscribe', args: [{ channel: 'account' }, { channel: 'positions', instType: 'ANY' }] });
    const account = await ws.next((f) => f.arg?.channel === 'account' && Array.isArray(f.data));
    expect(account).toMatchObject({ eventType: 'snapshot', curPage: 1, lastPage: true });
    expect(account.arg.uid).toBeTruthy();
    expect(account.data[0].details.map((d: { ccy: string }) => d.ccy).sort()).toEqual(['BTC', 'USDT']);
    expect(await ws.next((f) => f.arg?.channel === 'positions' && Array.isArray(f.data))).toMatchObject({
      eventType: 'snapshot',
      data: [],
    });
  });
});

describe('simulator WebSocket: candle confirm semantics (§3)', () => {
  it('sends confirm "0" updates while a bar forms and exactly one confirm "1" row at its close', async () => {
    const sim = new OkxSimulator({ data, startAt: START + 2 * 1440 * MIN - 3 * MIN });
    const { wsUrls } = await sim.start();
    const ws = await RawWs.open(wsUrls.business);
    try {
      ws.send({ op: 'subscribe', args: ['1m', '5m', '1D', '1Dutc', '6H'].map((tf) => ({ channel: `candle${tf}`, instId: 'BTC-USDT' })) });
      await waitFor(() => ws.json().filter((f) => f.event === 'subscribe').length === 5);
      sim.stepBars(10);
      await waitFor(() => ws.json().filter((f) => f.arg?.channel === 'candle1m' && f.data?.[0]?.[8] === '1').length === 10);
      const rows = (tf: string) =>
        ws
          .json()
          .filter((f) => f.arg?.channel === `candle${tf}` && f.data)
          .map((f) => f.data[0] as string[]);

      const minute = rows('1m');
      const closes = minute.filter((r) => r[8] === '1');
      expect(new Set(closes.map((r) => r[0])).size).toBe(closes.length);
      for (const close of closes) {
        const ts = Number(close[0]);
        const source = data.find((d) => d.ts === ts);
        expect(close.slice(1, 6).map(Number)).toEqual([source?.open, source?.high, source?.low, source?.close, source?.volume]);
        // After its confirm row, a bar never appears again.
        const after = minute.slice(minute.indexOf(close) + 1);
        expect(after.some((r) => r[0] === close[0])).toBe(false);
        // Before it, the bar was pushed as forming.
        expect(minute.some((r) => r[0] === close[0] && r[8] === '0')).toBe(true);
      }

      // The data crosses 00:00 UTC (a 1Dutc close) but not 16:00 UTC (no 1D close).
      expect(
        rows('1Dutc')
          .filter((r) => r[8] === '1')
          .map((r) => Number(r[0])),
      ).toEqual([START + 1440 * MIN]);
      expect(rows('1D').filter((r) => r[8] === '1')).toEqual([]);
      expect(rows('1D').every((r) => Number(r[0]) === Date.UTC(2025, 5, 2, 16))).toBe(true);
      expect(rows('6H').at(-1)?.[0]).toBe(String(Date.UTC(2025, 5, 2, 22)));
      // 5m bars close every fifth minute.
      expect(
        rows('5m')
          .filter((r) => r[8] === '1')
          .every((r) => Number(r[0]) % (5 * MIN) === 0),
      ).toBe(true);
    } finally {
      ws.close();
      await sim.stop();
    }
  });

  it('closes the final bar when the data ends and then goes quiet', async () => {
    const short = syntheticCandles({ count: 10, start: START });
    const sim = new OkxSimulator({ data: short, startAt: START + 8 * MIN });
    const { wsUrls } = await sim.start();
    const ws = await RawWs.open(wsUrls.business);
    try {
      ws.send({ op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
      await ws.next((f) => f.event === 'subscribe');
      sim.stepBars(5);
      expect(sim.ended).toBe(true);
      await waitFor(() => ws.json().filter((f) => f.data?.[0]?.[8] === '1').length === 2);
      const closes = ws
        .json()
        .filter((f) => f.data?.[0]?.[8] === '1')
        .map((f) => Number(f.data[0][0]));
      expect(closes).toEqual([START + 8 * MIN, START + 9 * MIN]);
    } finally {
      ws.close();
      await sim.stop();
    }
  });
});

describe('simulator WebSocket: server-side closes', () => {
  it('sends the 64008 notice and closes after the grace period', async () => {
    const sim = new OkxSimulator({ data: syntheticCandles({ count: 50 }) });
    const { wsUrls } = await sim.start();
    const ws = await RawWs.open(wsUrls.business);
    try {
      expect(sim.sendNotice({}, 50)).toBe(1);
      expect(await ws.next((f) => f.event === 'notice')).toMatchObject({ code: '64008' });
      await waitFor(() => ws.closeCode !== undefined);
    } finally {
      ws.close();
      await sim.stop();
    }
  });

  it('closes a silent connection with 4004 "No data received in 30s."', async () => {
    const sim = new OkxSimulator({ data: syntheticCandles({ count: 50 }), idleTimeoutMs: 150 });
    const { wsUrls } = await sim.start();
    const ws = await RawWs.open(wsUrls.public);
    try {
      await waitFor(() => ws.closeCode !== undefined, 3000);
      expect(ws.closeCode).toBe(4004);
      expect(ws.closeReason).toBe('No data received in 30s.');
    } finally {
      await sim.stop();
    }
  });

  it('duplicates, skips and garbles pushes when told to', async () => {
    const sim = new OkxSimulator({ data: syntheticCandles({ count: 50 }) });
    const { wsUrls } = await sim.start();
    const ws = await RawWs.open(wsUrls.business);
    try {
      ws.send({ op: 'subscribe', args: [{ channel: 'candle1m', instId: 'BTC-USDT' }] });
      await ws.next((f) => f.event === 'subscribe');
      const pushes = () => ws.frames.filter((f) => f.includes('"data"')).length;
      const base = pushes();
      sim.setFaults({ duplicatePushes: 1 });
      sim.step();
      await waitFor(() => pushes() === base + 2);
      sim.setFaults({ duplicatePushes: 0, skipPushes: 1 });
      sim.step(3);
      sim.setFaults({ skipPushes: 0, malformedFrames: 1 });
      sim.step();
      await waitFor(() => sim.stats().malformedSent === 1 && pushes() >= base + 3);
      expect(sim.stats().pushesSkipped).toBeGreaterThanOrEqual(3);
    } finally {
      ws.close();
      await sim.stop();
    }
  });
});
