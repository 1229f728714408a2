import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentPlanFrom } from '../src/config.js';
import { AgentErrorCode } from '../src/errors.js';
import { OrderEventBook } from '../src/order-book.js';
import { buildSystemPrompt, loadTemplate, renderTemplate, tradeableSentence } from '../src/prompt.js';
import { agentPlan, forecast, SWAP } from './support.js';

const plan = agentPlanFrom(
  agentPlan(
    'prompt',
    'limits: { maxTurns: 3, maxToolCalls: 5 }, tools: [get_forecast, place_order], prompt: { instructions: Never short. }',
  ),
)!;

describe('system prompt', () => {
  it('is built from the plan: instrument, limits, enabled tools, the forecast with its skill record and the tradeable sentence', async () => {
    const text = buildSystemPrompt({
      plan,
      template: await loadTemplate(undefined, undefined, []),
      forecast: forecast({ pUp: 0.66 }),
      trigger: 'auto_inference',
      now: 0,
    });
    expect(text).toContain(`You trade ${SWAP} on okx (paper mode), 1m bars.`);
    expect(text).toContain('at most 3 model turns, 5 tool calls, 8000 tokens');
    expect(text).toContain('Tools enabled: get_forecast, place_order.');
    expect(text).toContain('"pUp": 0.66');
    expect(text).toContain('"scored": 150');
    expect(text).toContain('The latest forecast IS tradeable');
    expect(text).toContain('Never short.');
    expect(text).not.toMatch(/\{\{/);
  });

  it('says plainly when the forecast is not tradeable, or missing', () => {
    expect(tradeableSentence(forecast({ tradeable: false, reason: 'loses to persistence' }))).toBe(
      'The latest forecast is NOT tradeable (loses to persistence): do not open or add to a position on it; closing or reducing a position is allowed.',
    );
    expect(tradeableSentence(undefined)).toMatch(/^No forecast has been published yet/);
  });

  it('refuses a template with an unknown placeholder, naming it', () => {
    expect(() => renderTemplate('hi {{plan}} {{instrumnet}}', {} as never, 'mine.md')).toThrow(
      /unknown placeholder\(s\) \{\{instrumnet\}\}/,
    );
    try {
      renderTemplate('{{nope}}', {} as never);
    } catch (err) {
      expect((err as { code: string }).code).toBe(AgentErrorCode.PromptTemplate);
    }
  });

  it('finds a relative template beside the plan file, and says where it looked when it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kokex-prompt-'));
    try {
      await writeFile(join(dir, 'mine.md'), 'Plan {{plan}} only.');
      expect(await loadTemplate('mine.md', join(dir, 'plan.yaml'), [])).toBe('Plan {{plan}} only.');
      await expect(loadTemplate('absent.md', join(dir, 'plan.yaml'), [])).rejects.toThrow(/absent\.md: not found; looked in/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('positions and open orders from order events', () => {
  const base = { venue: 'paper', inst: SWAP, plan: 'p', venueTs: 1, receivedAt: 1 } as const;
  it('keeps an average-cost position, realised PnL and open orders', () => {
    const book = new OrderEventBook({} as never);
    book.apply({ ...base, clientOrderId: 'a1', kind: 'accepted', side: 'buy', type: 'limit', price: 100, size: 2, filledSize: 0 });
    expect(book.openOrders('p')).toHaveLength(1);
    book.apply({
      ...base,
      clientOrderId: 'a1',
      kind: 'filled',
      side: 'buy',
      size: 2,
      filledSize: 2,
      fill: { price: 100, size: 2, fee: 0.1 },
    });
    book.apply({
      ...base,
      clientOrderId: 'a2',
      kind: 'filled',
      side: 'buy',
      size: 2,
      filledSize: 2,
      fill: { price: 110, size: 2, fee: 0.1 },
    });
    book.apply({
      ...base,
      clientOrderId: 'a3',
      kind: 'filled',
      side: 'sell',
      size: 1,
      filledSize: 1,
      fill: { price: 120, size: 1, fee: 0.05 },
    });
    expect(book.openOrders('p')).toEqual([]);
    expect(book.positions('p')).toEqual([{ inst: SWAP, size: 3, avgPrice: 105, realizedPnl: 15 }]);
    expect(book.fees('p')).toBeCloseTo(0.25);
    book.apply({
      ...base,
      plan: undefined,
      clientOrderId: 'x',
      kind: 'filled',
      side: 'sell',
      size: 9,
      filledSize: 9,
      fill: { price: 1, size: 9, fee: 0 },
    });
    expect(book.positions('p')[0]?.size).toBe(3);
  });
});

describe('reference docs', () => {
  it('errors.md lists every agent error code and no other', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(AGENT_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(AgentErrorCode).sort());
  });
});
