import { CancelRequestContract, CancelVerdictContract, OrderIntentContract, OrderVerdictContract, subject } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { actorView, decodeStored, MAX_DETAIL_CHARS } from '../src/feeds.js';
import { applyEvent, type DashboardEvent, emptyModel } from '../src/model.js';

const SWAP = 'BTC-USDT-SWAP';

describe('bus messages as dashboard events', () => {
  it('joins an intent, its verdict and a cancel request with its verdict on one order row', () => {
    const m = emptyModel();
    const put = (subj: string, bytes: Uint8Array) => {
      const e = decodeStored(subj, bytes) as DashboardEvent;
      expect(e).toBeDefined();
      applyEvent(m, e);
    };
    const origin = { kind: 'agent' as const, who: 'conv-1', why: 'P(up) 0.7' };
    const intent = OrderIntentContract.encode(
      {
        plan: 'demo',
        venue: 'okx',
        inst: SWAP,
        side: 'buy',
        size: 1,
        type: 'limit',
        price: 42_000,
        clientOrderId: 'o1',
        origin,
        basis: { kind: 'forecast', id: 'fc-9', inst: SWAP, tf: '1m', asOf: 5 },
      },
      { correlationId: 'corr-9' },
    );
    put(subject('orderIntent', { plan: 'demo', inst: SWAP }), intent.bytes);
    const verdict = OrderVerdictContract.encode(
      {
        plan: 'demo',
        inst: SWAP,
        clientOrderId: 'o1',
        decision: 'deny',
        reason: 'MAX_NOTIONAL',
        rule: 'risk.maxNotional',
        limit: 1000,
        value: 42_000,
        message: 'too big',
      },
      { correlationId: 'corr-9' },
    );
    put(subject('orderVerdict', { plan: 'demo', inst: SWAP }), verdict.bytes);
    const cancel = CancelRequestContract.encode({
      plan: 'demo',
      venue: 'okx',
      inst: SWAP,
      cancelId: 'x1',
      clientOrderId: 'o1',
      origin,
      basis: { kind: 'manual' },
    });
    put(subject('orderCancel', { plan: 'demo', inst: SWAP }), cancel.bytes);
    const cancelVerdict = CancelVerdictContract.encode({
      plan: 'demo',
      inst: SWAP,
      cancelId: 'x1',
      clientOrderId: 'o1',
      decision: 'deny',
      reason: 'CANCEL_TARGET_UNKNOWN',
      rule: 'cancel',
      message: 'not live',
    });
    put(subject('cancelVerdict', { plan: 'demo', inst: SWAP }), cancelVerdict.bytes);

    expect(m.orders).toHaveLength(1);
    const row = m.orders[0];
    expect(row).toMatchObject({
      clientOrderId: 'o1',
      correlationId: 'corr-9',
      intent: { side: 'buy', size: 1, price: 42_000, origin: 'agent:conv-1', basis: `forecast fc-9 (${SWAP} 1m)` },
      verdict: { decision: 'deny', reason: 'MAX_NOTIONAL', limit: 1000, value: 42_000 },
    });
    expect(row?.cancels).toEqual([
      expect.objectContaining({
        cancelId: 'x1',
        origin: 'agent:conv-1: P(up) 0.7',
        decision: 'deny',
        reason: 'CANCEL_TARGET_UNKNOWN',
        rule: 'cancel',
      }),
    ]);
  });

  it('refuses a message that does not match its contract (it is skipped by the reader, not shown)', () => {
    expect(() =>
      decodeStored(subject('orderVerdict', { plan: 'demo', inst: SWAP }), new TextEncoder().encode('{"type":"order.verdict"}')),
    ).toThrow();
  });

  it('keeps the fields an actor reports through status() from its status record, cutting a runaway one', () => {
    const status = {
      kind: 'executor',
      instanceId: 'executor-ab12',
      hostId: 'h1',
      version: '0.1.0',
      state: 'running',
      attempts: 0,
      processed: 3,
      failed: 0,
      startedAt: 1,
      updatedAt: 2,
      detail: { venues: [{ venue: 'okx', state: 'ready' }], url: 'http://127.0.0.1:1/' },
    };
    expect(actorView('executor.executor-ab12', status).detail).toEqual(status.detail);
    expect(actorView('x.y', { ...status, detail: 'not an object' }).detail).toEqual({});
    expect(actorView('x.y', { ...status, detail: undefined }).detail).toEqual({});
    const big = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, 'x'.repeat(100)]));
    const cut = actorView('x.y', { ...status, detail: big }).detail;
    expect(JSON.stringify(cut).length).toBeLessThanOrEqual(MAX_DETAIL_CHARS + 100);
    expect(cut.f0).toBe('x'.repeat(100));
    expect(String(cut['…'])).toMatch(/^\d+ more field\(s\) not shown$/);
  });
});
