import { type DashboardModel, positions } from '../../src/model.js';
import { h, iso, money, num, table } from './dom.js';

/** intent → verdict (reason, rule, limit, value) → approved order → events and fills, one row per client order id; positions and PnL. */
export function renderOrders(model: DashboardModel, main: HTMLElement): void {
  const rows = [...model.orders].reverse().map((o) => {
    const v = o.verdict;
    const i = o.intent;
    const fills = o.events.filter((e) => e.fill);
    const fees = fills.reduce((a, e) => a + Math.abs(e.fill?.fee ?? 0), 0);
    return h(
      'tr',
      { 'data-order': o.clientOrderId, 'data-correlation': o.correlationId ?? '', class: v?.decision === 'deny' ? 'denied' : '' },
      h('td', {}, iso(o.at)),
      h('td', {}, o.plan ?? ''),
      h('td', {}, o.clientOrderId, h('br'), h('small', {}, `corr ${o.correlationId ?? ''}`)),
      h(
        'td',
        {},
        i ? `${i.side} ${i.size} ${o.inst} ${i.type}${i.price ? ` @ ${i.price}` : ''}${i.reduceOnly ? ' reduce-only' : ''}` : '',
        i ? h('br') : null,
        i ? h('small', {}, `${i.origin}: ${i.why}${i.basis ? ` · basis ${i.basis}` : ''}`) : null,
      ),
      h(
        'td',
        { 'data-testid': 'verdict' },
        v ? h('span', { class: v.decision === 'approve' ? 'badge ok' : 'badge bad' }, `${v.decision.toUpperCase()} ${v.reason}`) : '',
        v ? ` ${v.rule}${v.limit !== undefined ? ` limit ${v.limit}` : ''}${v.value !== undefined ? ` value ${v.value}` : ''}` : '',
        v ? h('br') : null,
        v ? h('small', {}, v.message) : null,
      ),
      h(
        'td',
        {},
        o.approved ? `${o.approved.size}${o.approved.price ? ` @ ${o.approved.price}` : ''}${o.approved.reduceOnly ? ' ro' : ''}` : '',
      ),
      h(
        'td',
        {},
        o.events.map((e) => `${e.kind}${e.fill ? ` ${e.fill.size} @ ${e.fill.price}` : ''}${e.reason ? ` (${e.reason})` : ''}`).join(' → '),
        ...(o.cancels ?? []).map((c) =>
          h(
            'div',
            { class: 'cancel' },
            h(
              'small',
              {},
              `cancel ${c.cancelId}${c.decision ? `: ${c.decision.toUpperCase()} ${c.reason ?? ''} (${c.rule ?? ''}) ${c.message ?? ''}` : ': requested'}${c.approved ? ', sent to the venue' : ''}`,
            ),
          ),
        ),
      ),
      h('td', {}, fills.length ? money(fees) : ''),
    );
  });
  const orders = h(
    'table',
    { 'data-testid': 'orders-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['time', 'plan', 'client order id', 'intent', 'verdict', 'approved', 'events / fills', 'fees'].map((x) => h('th', {}, x)),
      ),
    ),
    h('tbody', {}, ...rows),
  );
  const pos = positions(model);
  const posTable = table(
    ['plan', 'instrument', 'size', 'base', 'avg price', 'mark', 'contract value', 'realized', 'unrealized', 'fees', 'PnL', 'fills'],
    pos.map((p) => [
      p.plan,
      p.inst,
      num(p.size, 8),
      num(p.base, 8),
      num(p.avgPrice, 2),
      num(p.mark, 2),
      p.contractValue,
      money(p.realized),
      money(p.unrealized),
      money(p.fees),
      money(p.pnl),
      p.fills,
    ]),
    { 'data-testid': 'positions-table' },
  );
  main.replaceChildren(h('h3', {}, 'positions (PnL in quote currency, contract value included)'), posTable, h('h3', {}, 'orders'), orders);
}
