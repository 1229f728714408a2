import {
  CandlestickSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  LineStyle,
  type SeriesType,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { DashboardModel, ForecastView } from '../../src/model.js';
import { h, num, table } from './dom.js';

/**
 * Candles of each series, live, with the latest forecast's cone ahead of the last bar (median and
 * quantile bands) and the medians of earlier forecasts over the bars that happened since; below it
 * P(up), band coverage and the skill record over time, with the tradeable flag and why.
 */
const sec = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;
const EARLIER = 5;

interface Charts {
  root: HTMLElement;
  price: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  cone: ISeriesApi<SeriesType>[];
  /** Ids of the forecasts drawn, so the cone is redrawn only when they change. */
  drawn: string;
  fitted: boolean;
  skill: IChartApi;
  pUp: ISeriesApi<'Line'>;
  cov80: ISeriesApi<'Line'>;
  cov90: ISeriesApi<'Line'>;
  info: HTMLElement;
}

const charts = new Map<string, Charts>();
let selected: string | undefined;

function makeCharts(key: string): Charts {
  const priceEl = h('div', { class: 'chart', 'data-testid': 'price-chart' });
  const skillEl = h('div', { class: 'chart small', 'data-testid': 'skill-chart' });
  const info = h('div', { class: 'skill-info' });
  const root = h('section', { 'data-series': key }, priceEl, h('h3', {}, 'P(up), band coverage and skill'), skillEl, info);
  const common = {
    autoSize: true,
    layout: { background: { color: '#111' }, textColor: '#ddd' },
    grid: { vertLines: { color: '#222' }, horzLines: { color: '#222' } },
  };
  const price = createChart(priceEl, { ...common, timeScale: { timeVisible: true, secondsVisible: false } });
  const candles = price.addSeries(CandlestickSeries, {});
  const skill = createChart(skillEl, { ...common, timeScale: { timeVisible: true } });
  const pUp = skill.addSeries(LineSeries, { color: '#4fc3f7', lineWidth: 2, title: 'P(up)' });
  const cov80 = skill.addSeries(LineSeries, { color: '#ffb74d', lineWidth: 1, title: 'coverage 80' });
  const cov90 = skill.addSeries(LineSeries, { color: '#e57373', lineWidth: 1, title: 'coverage 90' });
  return { root, price, candles, cone: [], drawn: '', fitted: false, skill, pUp, cov80, cov90, info };
}

function line(f: ForecastView, values: number[]) {
  return [{ time: sec(f.asOf), value: f.lastClose }, ...f.steps.map((t, i) => ({ time: sec(t), value: values[i] as number }))].filter(
    (p, i, all) => i === 0 || p.time > (all[i - 1] as { time: number }).time,
  );
}

function drawCone(c: Charts, forecasts: ForecastView[]): void {
  const ids = forecasts
    .slice(-EARLIER - 1)
    .map((f) => f.id)
    .join(' ');
  if (ids === c.drawn) return;
  c.drawn = ids;
  for (const s of c.cone) c.price.removeSeries(s);
  c.cone = [];
  const latest = forecasts[forecasts.length - 1];
  for (const f of forecasts.slice(-EARLIER - 1, -1)) {
    const s = c.price.addSeries(LineSeries, {
      color: 'rgba(180,180,180,0.45)',
      lineWidth: 1,
      lineStyle: LineStyle.Dotted,
      priceLineVisible: false,
      lastValueVisible: false,
    });
    s.setData(line(f, f.median));
    c.cone.push(s);
  }
  if (!latest) return;
  const n = latest.levels.length;
  latest.levels.forEach((level, i) => {
    const outer = Math.abs(level - 0.5);
    const alpha = 0.3 + (0.5 - outer);
    const s = c.price.addSeries(LineSeries, {
      color: `rgba(255,213,79,${alpha.toFixed(2)})`,
      lineWidth: 1,
      lineStyle: LineStyle.Dashed,
      priceLineVisible: false,
      lastValueVisible: i === 0 || i === n - 1,
      title: i === 0 || i === n - 1 ? `q${Math.round(level * 100)}` : '',
    });
    s.setData(line(latest, latest.bands[i] ?? []));
    c.cone.push(s);
  });
  const median = c.price.addSeries(LineSeries, { color: '#ffd54f', lineWidth: 2, priceLineVisible: false, title: 'median' });
  median.setData(line(latest, latest.median));
  c.cone.push(median);
  // The cone lies ahead of the last bar: bring it into view.
  c.price.timeScale().scrollToRealTime();
}

export function renderMarket(model: DashboardModel, main: HTMLElement): void {
  const keys = Object.keys(model.series).sort();
  if (!selected || !keys.includes(selected)) {
    // A plan's own series first (the 1H bars the trainer reads are context, not the plan's timeframe).
    const planned = Object.values(model.plans).map((p) => ` ${p.inst} ${p.tf}`);
    selected = keys.find((k) => planned.some((x) => k.endsWith(x))) ?? keys[0];
  }
  const picker = h(
    'select',
    {
      'data-testid': 'series-select',
      onchange: (e: Event) => {
        selected = (e.target as HTMLSelectElement).value;
        renderMarket(model, main);
      },
    },
    ...keys.map((k) => h('option', { value: k, ...(k === selected ? { selected: true } : {}) }, k)),
  );
  main.replaceChildren(h('div', { class: 'toolbar' }, keys.length ? picker : h('em', {}, 'no candles on the bus yet')));
  if (!selected) return;
  const series = model.series[selected];
  if (!series) return;
  let c = charts.get(selected);
  if (!c) {
    c = makeCharts(selected);
    charts.set(selected, c);
  }
  main.append(c.root);
  const bars = series.live ? [...series.bars, series.live] : series.bars;
  c.candles.setData(bars.map((b) => ({ time: sec(b.time), open: b.open, high: b.high, low: b.low, close: b.close })));
  const forecasts = model.forecasts[`${series.inst} ${series.tf}`] ?? [];
  drawCone(c, forecasts);
  if (!c.fitted && bars.length > 0) {
    c.fitted = true;
    c.price.timeScale().fitContent();
    c.skill.timeScale().fitContent();
  }
  const pts = (pick: (f: ForecastView) => number | undefined) =>
    forecasts.flatMap((f) => (pick(f) === undefined ? [] : [{ time: sec(f.asOf), value: pick(f) as number }]));
  c.pUp.setData(pts((f) => f.pUp));
  c.cov80.setData(pts((f) => f.coverage80));
  c.cov90.setData(pts((f) => f.coverage90));
  const latest = forecasts[forecasts.length - 1];
  c.root.dataset.forecasts = String(forecasts.length);
  c.root.dataset.bars = String(bars.length);
  c.root.dataset.cone = String(c.cone.length);
  c.info.replaceChildren(
    latest
      ? h(
          'div',
          {},
          h(
            'p',
            { 'data-testid': 'tradeable' },
            h('span', { class: latest.tradeable ? 'badge ok' : 'badge bad' }, latest.tradeable ? 'TRADEABLE' : 'NOT TRADEABLE'),
            ` ${latest.reason}`,
          ),
          h(
            'p',
            {},
            `latest ${latest.model}: P(up) ${num(latest.pUp, 3)} (raw ${num(latest.pUpRaw, 3)}), skill ${latest.scored}/${latest.window} scored, coverage 80 ${num(latest.coverage80, 3)}, 90 ${num(latest.coverage90, 3)}`,
          ),
          table(
            ['', ...Object.keys(latest.skillModel)],
            [
              ['model', ...Object.values(latest.skillModel).map((v) => num(v))],
              ...Object.entries(latest.skillBaselines).map(([name, scores]) => [
                name,
                ...Object.keys(latest.skillModel).map((k) => num(scores[k])),
              ]),
            ],
            { 'data-testid': 'skill-table' },
          ),
        )
      : h('p', {}, 'no forecast yet'),
  );
}
