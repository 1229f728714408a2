import type { Envelope, Forecast } from '@kokex/core';

/** `kokex forecast` output: a forecast as a few summary lines, the skill record and a per-step table. */
const number = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 7, useGrouping: false });
const score = (v: number | undefined) => (v === undefined ? '-' : Number(v.toPrecision(4)).toString());
const percent = (v: number | undefined, digits = 1) => (v === undefined ? '-' : `${(v * 100).toFixed(digits)}%`);
const utc = (ts: number) => new Date(ts).toISOString().slice(0, 16).replace('T', ' ');

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((v, c) => (c === 0 ? v.padEnd(widths[c] ?? 0) : v.padStart(widths[c] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const levelName = (level: number) => `Q${Math.round(level * 100)}`;

export function formatForecast(envelope: Envelope<Forecast>, plan: string): string {
  const f = envelope.data;
  const s = f.settings;
  const k = f.skill;
  const lines = [
    `${f.inst} ${f.tf} · plan ${plan} · as of the bar opened ${utc(f.asOf)} UTC · last close ${number.format(f.lastClose)}`,
    `model ${f.model.name} ${f.model.version.slice(0, 12)} · ${s.executionProvider} · ${s.paths} paths · lookback ${s.lookback} · horizon ${f.horizon} · T ${s.temperature} · ${s.topK > 0 ? `top-k ${s.topK}` : `top-p ${s.topP}`} · seed ${s.seed} · ${Math.round(f.computeMs)} ms · published ${new Date(envelope.time).toISOString()}`,
    `P(up) ${percent(f.pUp)}${f.pUp !== f.pUpRaw ? ` (raw ${percent(f.pUpRaw)}, calibrated)` : ''} · P(volatility expands) ${percent(f.pVolExpand)} · expected max adverse move: long ${percent(f.expectedMaxAdverse.long, 2)}, short ${percent(f.expectedMaxAdverse.short, 2)}`,
    `tradeable: ${f.tradeable ? 'YES' : 'NO'}: ${k.reason}`,
    '',
  ];
  const baselines = Object.keys(k.baselines);
  const metrics = ['crps', 'mae', 'brier', 'hit-rate'];
  lines.push(`skill record: ${k.scored} scored of a ${k.window}-forecast window (log-return units; lower is better except hit-rate)`);
  if (k.scored > 0) {
    lines.push(
      table(
        ['METRIC', 'MODEL', ...baselines.map((b) => b.toUpperCase())],
        metrics.map((m) => [m, score(k.model[m]), ...baselines.map((b) => score(k.baselines[b]?.[m]))]),
      ),
    );
    lines.push(`band coverage: 80% band ${percent(k.coverage80)}, 90% band ${percent(k.coverage90)}`);
  }
  lines.push('');
  const levels = f.quantiles.levels;
  const top = levels.length - 1;
  lines.push(
    table(
      [
        'STEP',
        'BAR (UTC)',
        'MEAN',
        ...levels.map((l) => (l === 0.5 ? 'MEDIAN' : levelName(l))),
        `HIGH ${levelName(levels[top] as number)}`,
        `LOW ${levelName(levels[0] as number)}`,
      ],
      f.steps.map((ts, h) => [
        h + 1,
        utc(ts),
        number.format(f.mean.close[h] as number),
        ...levels.map((_, q) => number.format(f.quantiles.close[q]?.[h] as number)),
        number.format(f.quantiles.high[top]?.[h] as number),
        number.format(f.quantiles.low[0]?.[h] as number),
      ]),
    ),
  );
  return lines.join('\n');
}
