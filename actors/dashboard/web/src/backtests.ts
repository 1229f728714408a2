import { AreaSeries, createChart, type IChartApi, LineSeries, type UTCTimestamp } from 'lightweight-charts';
import { h, iso, money, num, table } from './dom.js';

/**
 * The reports `kokex backtest` wrote (the dashboard's backtests directory), read only: the list
 * (a file that is not a report is listed with its error), one report opened (its figures, equity
 * curve and drawdown, trades, verdicts by reason) and two or more compared side by side with each
 * run's difference from the first, as core's `compareRuns` computes them on the server.
 */
interface Listing {
  id: string;
  ok: boolean;
  modifiedAt: number;
  error?: string;
  plan?: string;
  instrument?: string;
  timeframe?: string;
  venue?: string;
  mode?: string;
  window?: { from: string; to: string; bars: number };
  models?: string[];
  seed?: number;
  figures?: { totalReturn: number; maxDrawdown: number; sharpe: number; trades: number; endEquity: number };
}

interface Report {
  plan: { name: string; instrument: string; timeframe: string; venue: string; mode: string; capital: number };
  window: { from: string; to: string; bars: number; replayed: number; partial: boolean };
  provenance: { seed: number; codeVersion: string; models: string[]; contractValue: number };
  figures: Record<string, number | string>;
  verdicts: { total: number; approved: number; denied: number; byReason: Record<string, number> };
  forecasts: { count: number; tradeable: number };
  trades: Array<{ openedAt: number; closedAt: number; side: string; pnl: number; fees: number }>;
  series: { equity: Array<[number, number, number, number]> };
}

interface Comparison {
  runs: Array<{ run: string; plan: string; window: string; models: string[]; seed: number }>;
  figures: Record<string, number[]>;
  differences: Record<string, number[]>;
}

type Reply<T> = ({ ok: true } & T) | { ok: false; error: { code: string; message: string } };

const PERCENT = new Set(['totalReturn', 'annualizedReturn', 'maxDrawdown', 'winRate', 'exposure', 'buyAndHoldReturn']);
const TRADES_SHOWN = 500;

/** A figure as a trader reads it: returns and rates in %, durations in hours, money with its digits. */
export function figureText(name: string, v: number | string | undefined): string {
  if (typeof v !== 'number') return v ?? '';
  if (PERCENT.has(name)) return `${(v * 100).toFixed(2)}%`;
  if (name === 'maxDrawdownDurationMs') return `${(v / 3_600_000).toFixed(1)}h`;
  return Number.isInteger(v) ? String(v) : money(v);
}

const signed = (name: string, d: number) => (d > 0 ? '+' : '') + figureText(name, d);

async function get<T>(path: string): Promise<Reply<T>> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as Reply<T>;
    if (!res.ok && body.ok !== false) return { ok: false, error: { code: String(res.status), message: res.statusText } };
    return body;
  } catch (err) {
    return { ok: false, error: { code: 'NETWORK', message: (err as Error).message } };
  }
}

const selected = new Set<string>();
let charts: IChartApi[] = [];

function dropCharts(): void {
  for (const c of charts) c.remove();
  charts = [];
}

/** Draws the view once; it then changes only on its own buttons (bus events do not touch it). */
export function renderBacktests(main: HTMLElement): void {
  if (main.querySelector('[data-testid="backtests"]')) return;
  dropCharts();
  const status = h('p', { class: 'muted', 'data-testid': 'backtests-dir' }, 'reading the backtests directory…');
  const list = h('div', { 'data-testid': 'backtests-list' });
  const detail = h('div', { 'data-testid': 'backtest-detail' });
  const compare = h('div', { 'data-testid': 'backtest-compare' });
  const compareButton = h('button', { 'data-testid': 'backtests-compare', disabled: true }, 'compare selected');
  const refresh = h('button', { 'data-testid': 'backtests-refresh' }, 'refresh');
  const root = h(
    'section',
    { 'data-testid': 'backtests' },
    h('div', { class: 'toolbar' }, status, refresh, compareButton),
    list,
    compare,
    detail,
  );
  main.replaceChildren(root);

  const syncCompare = () => {
    compareButton.disabled = selected.size < 2;
    compareButton.textContent = `compare selected (${selected.size})`;
  };

  const load = async () => {
    const r = await get<{ dir: string; exists: boolean; reports: Listing[] }>('/api/backtests');
    if (!r.ok) {
      status.textContent = `backtests: ${r.error.code} ${r.error.message}`;
      status.className = 'bad';
      return;
    }
    status.className = 'muted';
    status.textContent = r.exists
      ? `${r.reports.length} run(s) in ${r.dir}`
      : `no directory ${r.dir} yet: kokex backtest writes its reports there (--out), or set backtestsDir / KOKEX_BACKTESTS_DIR`;
    const ids = new Set(r.reports.map((x) => x.id));
    for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
    list.replaceChildren(listTable(r.reports, syncCompare, (id) => void open(id)));
    syncCompare();
  };

  const open = async (id: string) => {
    dropCharts();
    detail.replaceChildren(h('p', { class: 'muted' }, `opening ${id}…`));
    const r = await get<{ id: string; report: Report }>(`/api/backtests/report?id=${encodeURIComponent(id)}`);
    if (!r.ok) {
      detail.replaceChildren(h('p', { class: 'bad', 'data-testid': 'backtest-error' }, `${id}: ${r.error.code} ${r.error.message}`));
      return;
    }
    drawReport(detail, id, r.report);
  };

  refresh.addEventListener('click', () => void load());
  compareButton.addEventListener('click', async () => {
    const ids = [...selected];
    compare.replaceChildren(h('p', { class: 'muted' }, `comparing ${ids.join(', ')}…`));
    const r = await get<{ comparison: Comparison }>(`/api/backtests/compare?${ids.map((id) => `id=${encodeURIComponent(id)}`).join('&')}`);
    if (!r.ok) {
      compare.replaceChildren(h('p', { class: 'bad', 'data-testid': 'backtest-error' }, `compare: ${r.error.code} ${r.error.message}`));
      return;
    }
    compare.replaceChildren(comparisonView(r.comparison));
  });
  void load();
}

function listTable(reports: Listing[], changed: () => void, open: (id: string) => void): HTMLElement {
  if (reports.length === 0) return h('p', { class: 'muted' }, 'no reports');
  const head = [
    '',
    'run',
    'plan',
    'instrument',
    'window',
    'bars',
    'models',
    'seed',
    'return',
    'max drawdown',
    'sharpe',
    'trades',
    'written',
    '',
  ];
  return h(
    'table',
    { 'data-testid': 'backtests-table' },
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h(
      'tbody',
      {},
      ...reports.map((r) => {
        if (!r.ok)
          return h(
            'tr',
            { class: 'denied', 'data-run': r.id, 'data-ok': 'false' },
            h('td', {}, ''),
            h('td', {}, r.id),
            h('td', { colspan: 10, class: 'bad', 'data-testid': 'backtest-bad' }, r.error ?? 'unreadable'),
            h('td', {}, iso(r.modifiedAt)),
            h('td', {}, ''),
          );
        const box = h('input', {
          type: 'checkbox',
          'data-testid': `select-${r.id}`,
          checked: selected.has(r.id),
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) selected.add(r.id);
            else selected.delete(r.id);
            changed();
          },
        });
        const f = r.figures;
        return h(
          'tr',
          { 'data-run': r.id, 'data-ok': 'true' },
          h('td', {}, box),
          h('td', {}, r.id),
          h('td', {}, r.plan),
          h('td', {}, `${r.instrument} ${r.timeframe} (${r.venue} ${r.mode})`),
          h('td', {}, `${r.window?.from} → ${r.window?.to}`),
          h('td', {}, r.window?.bars),
          h('td', {}, r.models?.join(', ') || 'no model'),
          h('td', {}, r.seed),
          h('td', {}, figureText('totalReturn', f?.totalReturn)),
          h('td', {}, figureText('maxDrawdown', f?.maxDrawdown)),
          h('td', {}, figureText('sharpe', f?.sharpe)),
          h('td', {}, f?.trades),
          h('td', {}, iso(r.modifiedAt)),
          h('td', {}, h('button', { 'data-testid': `open-${r.id}`, onclick: () => open(r.id) }, 'open')),
        );
      }),
    ),
  );
}

const sec = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/** Points with strictly rising times (the chart's rule): a second that repeats keeps its last value. */
function points(rows: Array<[number, number, number, number]>, at: 1 | 2): Array<{ time: UTCTimestamp; value: number }> {
  const out: Array<{ time: UTCTimestamp; value: number }> = [];
  for (const row of rows) {
    const time = sec(row[0]);
    const value = at === 1 ? row[1] : -Math.abs(row[2]) * 100;
    const last = out[out.length - 1];
    if (last && last.time >= time) last.value = value;
    else out.push({ time, value });
  }
  return out;
}

function drawReport(detail: HTMLElement, id: string, r: Report): void {
  const figureRows = Object.entries(r.figures).map(([k, v]) => [k, figureText(k, v)]);
  const equityEl = h('div', { class: 'chart small', 'data-testid': 'backtest-equity' });
  const drawdownEl = h('div', { class: 'chart small', 'data-testid': 'backtest-drawdown' });
  const trades = r.trades.slice(0, TRADES_SHOWN);
  const reasons = Object.entries(r.verdicts.byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  detail.replaceChildren(
    h(
      'section',
      { 'data-testid': 'backtest-report', 'data-run': id },
      h('h3', {}, `${id}: plan ${r.plan.name}, ${r.plan.instrument} ${r.plan.timeframe} (${r.plan.venue} ${r.plan.mode})`),
      h(
        'p',
        { class: 'muted' },
        `${r.window.from} → ${r.window.to}, ${r.window.replayed}/${r.window.bars} bars${r.window.partial ? ' (partial)' : ''}; ` +
          `${r.provenance.models.join(', ') || 'no model'}, seed ${r.provenance.seed}, code ${r.provenance.codeVersion}, ` +
          `capital ${money(r.plan.capital)}, contract value ${r.provenance.contractValue}; ` +
          `${r.forecasts.count} forecasts (${r.forecasts.tradeable} tradeable)`,
      ),
      h('div', { class: 'cols' }, table(['figure', 'value'], figureRows, { 'data-testid': 'backtest-figures' })),
      h('h3', {}, 'Equity'),
      equityEl,
      h('h3', {}, 'Drawdown (%)'),
      drawdownEl,
      h('h3', {}, `Verdicts: ${r.verdicts.total} (${r.verdicts.approved} approved, ${r.verdicts.denied} denied)`),
      table(['reason', 'count'], reasons, { 'data-testid': 'backtest-verdicts' }),
      h('h3', {}, `Trades: ${r.trades.length}${r.trades.length > TRADES_SHOWN ? ` (the first ${TRADES_SHOWN} shown)` : ''}`),
      table(
        ['opened', 'closed', 'side', 'PnL', 'fees'],
        trades.map((t) => [iso(t.openedAt), iso(t.closedAt), t.side, money(t.pnl), num(t.fees, 6)]),
        { 'data-testid': 'backtest-trades' },
      ),
    ),
  );
  const common = {
    autoSize: true,
    layout: { background: { color: '#111' }, textColor: '#ddd' },
    grid: { vertLines: { color: '#222' }, horzLines: { color: '#222' } },
    timeScale: { timeVisible: true, secondsVisible: false },
  };
  const equity = createChart(equityEl, common);
  equity.addSeries(LineSeries, { color: '#4fc3f7', lineWidth: 2, title: 'equity' }).setData(points(r.series.equity, 1));
  equity.timeScale().fitContent();
  const drawdown = createChart(drawdownEl, common);
  drawdown
    .addSeries(AreaSeries, {
      lineColor: '#e57373',
      topColor: 'rgba(229,115,115,0.1)',
      bottomColor: 'rgba(229,115,115,0.5)',
      title: 'drawdown %',
    })
    .setData(points(r.series.equity, 2));
  drawdown.timeScale().fitContent();
  charts.push(equity, drawdown);
}

function comparisonView(c: Comparison): HTMLElement {
  const head = ['figure', ...c.runs.map((r) => r.run), ...c.runs.slice(1).map((r) => `Δ ${r.run} − ${c.runs[0]?.run}`)];
  return h(
    'section',
    { 'data-testid': 'comparison' },
    h('h3', {}, `Comparison of ${c.runs.length} runs (differences from ${c.runs[0]?.run})`),
    h(
      'ul',
      { class: 'fields' },
      ...c.runs.map((r) => h('li', {}, `${r.run}: plan ${r.plan}, ${r.window}, ${r.models.join(', ') || 'no model'}, seed ${r.seed}`)),
    ),
    h(
      'table',
      { 'data-testid': 'comparison-table' },
      h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
      h(
        'tbody',
        {},
        ...Object.keys(c.figures).map((name) => {
          const values = c.figures[name] ?? [];
          const diffs = (c.differences[name] ?? []).slice(1);
          return h(
            'tr',
            { 'data-figure': name, class: diffs.some((d) => d !== 0) ? 'differs' : '' },
            h('td', {}, name),
            ...values.map((v) => h('td', {}, figureText(name, v))),
            ...diffs.map((d) => h('td', { class: d !== 0 ? 'diff' : 'muted', 'data-diff': d }, signed(name, d))),
          );
        }),
      ),
    ),
  );
}
