import { createHash } from 'node:crypto';
import type { AgentTrigger, Candle, Forecast, OrderEvent } from '@kokex/core';

/**
 * What opens each kind of conversation: the user message the model gets, and a conversation id
 * derived from the plan and the triggering message's id, so a redelivered trigger re-runs under
 * the same id (same record ids, same client order ids) instead of starting a second conversation.
 */
const PREFIX: Record<AgentTrigger, string> = {
  auto_inference: 'fc',
  kline_event: 'kl',
  order_event: 'oe',
  scheduled_decision: 'sd',
  manual_chat: 'chat',
};

export function conversationIdFor(trigger: AgentTrigger, plan: string, messageId: string): string {
  return `${PREFIX[trigger]}-${createHash('sha256').update(`${plan}|${trigger}|${messageId}`).digest('hex').slice(0, 20)}`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const num = (n: number) => Number(n.toPrecision(8)).toString();

export function forecastInput(f: Forecast): string {
  return (
    `A new forecast for ${f.inst} ${f.tf} was published (bar of ${iso(f.asOf)}, last close ${num(f.lastClose)}): ` +
    `P(up) ${num(f.pUp)} over ${f.horizon} bars, ${f.tradeable ? 'tradeable' : 'NOT tradeable'} (${f.skill.reason}). ` +
    'Decide whether to act. Any order you place is an intent that the risk guard checks.'
  );
}

export function candleInput(c: Candle): string {
  return (
    `A ${c.tf} candle of ${c.inst} closed (opened ${iso(c.ts)}): open ${num(c.open)}, high ${num(c.high)}, low ${num(c.low)}, ` +
    `close ${num(c.close)}, volume ${num(c.volume)}. Decide whether to act.`
  );
}

export function orderEventInput(e: OrderEvent): string {
  const price = e.fill ? ` at ${num(e.fill.price)}` : e.avgPrice ? ` (average ${num(e.avgPrice)})` : '';
  return (
    `Order ${e.clientOrderId ?? e.venueOrderId ?? '?'} on ${e.inst} was ${e.kind.replace('_', ' ')}: ${e.side} ${num(e.filledSize)} of ${num(e.size)}${price}` +
    `${e.reason ? ` (${e.reason})` : ''}. Review the position and open orders and decide whether anything else is needed.`
  );
}

export function scheduledInput(job: string | undefined, at: number): string {
  return `Scheduled decision${job ? ` (job ${job})` : ''} due at ${iso(at)}: review the market, the forecast and the position, and decide.`;
}
