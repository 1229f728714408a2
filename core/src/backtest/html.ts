import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BacktestReport } from './report.js';

/**
 * `report.html`: one self-contained page (no network). The charts are drawn by lightweight-charts,
 * whose standalone script is inlined from node_modules; the report's data is inlined as JSON.
 * Sections: summary figures and provenance; equity and drawdown; price with entries, exits and the
 * forecast bands; P(up) reliability and skill over time; verdicts by reason; the trade list.
 */
export async function chartScript(): Promise<string | undefined> {
  try {
    const pkg = createRequire(import.meta.url).resolve('lightweight-charts/package.json');
    return await readFile(join(dirname(pkg), 'dist', 'lightweight-charts.standalone.production.js'), 'utf8');
  } catch {
    return undefined;
  }
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const num = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '0');
const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;

function rows(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
}

export function renderHtml(r: BacktestReport, script: string | undefined): string {
  const f = r.figures;
  const s = r.forecasts.skill;
  const figures = rows([
    ['total return', pct(f.totalReturn)],
    ['annualised return', pct(f.annualizedReturn)],
    ['buy and hold', pct(f.buyAndHoldReturn)],
    ['max drawdown', `${pct(f.maxDrawdown)} (longest ${hours(f.maxDrawdownDurationMs)} under a peak)`],
    ['Sharpe / Sortino', `${num(f.sharpe)} / ${num(f.sortino)} (${f.ratioFrequency})`],
    ['trades, win rate', `${f.trades}, ${pct(f.winRate)}`],
    ['average win / loss', `${num(f.averageWin, 4)} / ${num(f.averageLoss, 4)}`],
    ['fees', num(f.fees, 4)],
    ['exposure, turnover', `${pct(f.exposure)}, ${num(f.turnover)}`],
    ['equity', `${num(f.startEquity)} → ${num(f.endEquity)}`],
  ]);
  const provenance = rows([
    ['plan', `${r.plan.name} (${r.plan.file}, sha256 ${r.plan.sha256.slice(0, 16)}…)`],
    [
      'series',
      `${r.plan.venue} ${r.plan.instrument} ${r.plan.timeframe}, capital ${r.plan.capital}, contract value ${r.provenance.contractValue}`,
    ],
    [
      'window',
      `${r.window.from} → ${r.window.to}: ${r.window.replayed}/${r.window.bars} bars${r.window.partial ? ' (PARTIAL: stopped early)' : ''}`,
    ],
    [
      'data',
      `${r.data.files.map((x) => `${x.name} (${x.rows} rows, sha256 ${x.sha256.slice(0, 12)}…)`).join(', ')}; gaps: ${r.data.gapPolicy}, ${r.data.gaps.length} filled`,
    ],
    ['model', r.provenance.models.join(', ') || 'no forecasts'],
    ['seed, code', `${r.provenance.seed}, ${r.provenance.codeVersion}`],
  ]);
  const skill = s
    ? rows([
        ['scored / window', `${s.scored} / ${s.window}`],
        [
          'model',
          Object.entries(s.model)
            .map(([k, v]) => `${k} ${num(v, 4)}`)
            .join(', '),
        ],
        ...Object.entries(s.baselines).map(
          ([name, m]) =>
            [
              `baseline ${name}`,
              Object.entries(m)
                .map(([k, v]) => `${k} ${num(v, 4)}`)
                .join(', '),
            ] as [string, string],
        ),
        [
          'band coverage 80 / 90',
          `${s.coverage80 === undefined ? '-' : pct(s.coverage80)} / ${s.coverage90 === undefined ? '-' : pct(s.coverage90)}`,
        ],
        ['tradeable', `${s.tradeable} (${s.reason})`],
      ])
    : '<tr><td>no forecasts in this run</td></tr>';
  const verdicts = Object.entries(r.verdicts.byReason)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`)
    .join('');
  const trades = r.trades
    .map(
      (t) =>
        `<tr><td>${esc(t.openedAtIso)}</td><td>${esc(t.closedAtIso)}</td><td>${t.side}</td><td>${num(t.pnl, 4)}</td><td>${num(t.fees, 4)}</td></tr>`,
    )
    .join('');
  const fills = r.fills
    .map(
      (x) =>
        `<tr><td>${new Date(x.time).toISOString()}</td><td>${esc(x.clientOrderId)}</td><td>${x.side}</td><td>${x.size}</td><td>${x.price}</td><td>${x.fee}</td></tr>`,
    )
    .join('');
  const reliability = r.forecasts.reliability
    .filter((b) => b.count > 0)
    .map(
      (b) =>
        `<tr><td>${num(b.from, 1)}–${num(b.from + 0.1, 1)}</td><td>${b.count}</td><td>${num(b.meanPUp, 3)}</td><td>${num(b.observedUp, 3)}</td></tr>`,
    )
    .join('');
  // The data goes in as JSON inside a script tag: `<` is escaped so no value can close the tag.
  const payload = JSON.stringify({ series: r.series, fills: r.fills, reliability: r.forecasts.reliability }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KOKEX backtest: ${esc(r.plan.name)} ${esc(r.window.from)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fafbfc}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;border-bottom:1px solid #e2e5e9;text-align:left;vertical-align:top}
th{font-weight:600;color:#444}.chart{width:100%;height:320px;margin:8px 0}.small{height:220px}.grid{display:flex;gap:32px;flex-wrap:wrap}
.note{color:#666}
</style></head><body>
<h1>Backtest: plan ${esc(r.plan.name)}, ${esc(r.plan.instrument)} ${esc(r.plan.timeframe)}</h1>
<div class="grid"><div><h2>Figures</h2><table>${figures}</table></div><div><h2>Provenance</h2><table>${provenance}</table></div></div>
<h2>Equity and drawdown</h2><div id="equity" class="chart"></div><div id="drawdown" class="chart small"></div>
<h2>Price, entries and exits, forecast bands</h2><p class="note">Closes, the forecast's first-step 10%–90% band and median, buys ▲ and sells ▼ at their fills.</p><div id="price" class="chart"></div>
<h2>Forecasts</h2>
<div class="grid"><div><h3>Skill record (the inferencer's, as the last forecast carried it)</h3><table>${skill}</table></div>
<div><h3>P(up) reliability</h3><table><tr><th>P(up)</th><th>forecasts</th><th>mean P(up)</th><th>observed up</th></tr>${reliability || '<tr><td colspan="4">none resolved</td></tr>'}</table><div id="reliability" class="chart small" style="width:360px"></div></div></div>
<h3>Skill over time (CRPS: model vs best baseline)</h3><div id="skill" class="chart small"></div>
<h2>Verdicts by reason</h2><table>${verdicts || '<tr><td>no verdicts</td></tr>'}</table>
<p>${r.verdicts.total} verdicts: ${r.verdicts.approved} approved, ${r.verdicts.denied} denied; ${r.decisions.conversations} agent decisions, ${r.decisions.intents} intents.</p>
<h2>Trades</h2><table><tr><th>opened</th><th>closed</th><th>side</th><th>PnL (net)</th><th>fees</th></tr>${trades || '<tr><td colspan="5">no round trips</td></tr>'}</table>
<h3>Fills</h3><table><tr><th>time</th><th>order</th><th>side</th><th>size</th><th>price</th><th>fee</th></tr>${fills || '<tr><td colspan="6">no fills</td></tr>'}</table>
<script id="data" type="application/json">${payload}</script>
${script ? `<script>${script}</script>` : '<p class="note">charts unavailable: lightweight-charts was not installed when this report was written</p>'}
<script>
(function(){
if(!window.LightweightCharts)return;
var L=window.LightweightCharts,d=JSON.parse(document.getElementById('data').textContent),s=d.series;
var t=function(ms){return Math.floor(ms/1000)};
var charts=[];var mk=function(id){var c=L.createChart(document.getElementById(id),{autoSize:true,timeScale:{timeVisible:true,secondsVisible:false}});charts.push(c);return c};
var eq=mk('equity').addSeries(L.LineSeries,{color:'#2962ff',lineWidth:2,title:'equity'});eq.setData(s.equity.map(function(p){return{time:t(p[0]),value:p[1]}}));
var dd=mk('drawdown').addSeries(L.AreaSeries,{lineColor:'#d32f2f',topColor:'rgba(211,47,47,0.3)',bottomColor:'rgba(211,47,47,0.05)',title:'drawdown'});dd.setData(s.equity.map(function(p){return{time:t(p[0]),value:-p[2]}}));
var pc=mk('price');var px=pc.addSeries(L.LineSeries,{color:'#333',lineWidth:1,title:'close'});px.setData(s.bars.map(function(b){return{time:t(b[0]),value:b[4]}}));
var uniq=function(a){var m={};a.forEach(function(p){m[p.time]=p});return Object.keys(m).map(function(k){return m[k]}).sort(function(x,y){return x.time-y.time})};
var bar=s.bars.length>1?(s.bars[1][0]-s.bars[0][0]):60000;
[[2,'#90caf9','band low'],[3,'#1565c0','median'],[4,'#90caf9','band high']].forEach(function(c){var l=pc.addSeries(L.LineSeries,{color:c[1],lineWidth:1,title:c[2]});l.setData(uniq(s.forecasts.map(function(f){return{time:t(f[0]+2*bar),value:f[c[0]]}})))});
if(L.createSeriesMarkers)L.createSeriesMarkers(px,uniq(d.fills.map(function(f){return{time:t(Math.floor(f.time/bar)*bar),position:f.side==='buy'?'belowBar':'aboveBar',color:f.side==='buy'?'#2e7d32':'#c62828',shape:f.side==='buy'?'arrowUp':'arrowDown',text:f.side+' '+f.size}})));
var sk=mk('skill');var m1=sk.addSeries(L.LineSeries,{color:'#2962ff',title:'model CRPS'});m1.setData(uniq(s.skill.filter(function(x){return x[1]>0}).map(function(x){return{time:t(x[0]),value:x[2]}})));
var m2=sk.addSeries(L.LineSeries,{color:'#ff6d00',title:'best baseline CRPS'});m2.setData(uniq(s.skill.filter(function(x){return x[1]>0}).map(function(x){return{time:t(x[0]),value:x[3]}})));
var rc=L.createChart(document.getElementById('reliability'),{autoSize:true,timeScale:{tickMarkFormatter:function(v){return (v/100).toFixed(1)}},localization:{timeFormatter:function(v){return 'P(up) '+(v/100).toFixed(2)}}});
charts.push(rc);var diag=rc.addSeries(L.LineSeries,{color:'#aaa',title:'perfect'});diag.setData([{time:0,value:0},{time:100,value:1}]);
var obs=rc.addSeries(L.LineSeries,{color:'#2962ff',title:'observed',pointMarkersVisible:true});obs.setData(uniq(d.reliability.filter(function(b){return b.count>0}).map(function(b){return{time:Math.round(b.meanPUp*100),value:b.observedUp}})));
charts.forEach(function(c){c.timeScale().fitContent()});
})();
</script>
</body></html>
`;
}
