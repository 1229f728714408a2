import type { ActorMetrics, Forecast } from '@kokex/core';

/**
 * The inferencer's Prometheus families, recorded per published forecast: the count (by whether it
 * was tradeable), the model's compute time, the model version serving each series (an info metric:
 * value 1 for the current version, the previous one removed) and the skill scores over the window.
 */
export function forecastMetrics(metrics: ActorMetrics): (forecast: Forecast) => void {
  const total = metrics.counter('kokex_forecasts_total', 'Forecasts published', ['inst', 'tf', 'tradeable']);
  const compute = metrics.histogram('kokex_forecast_compute_seconds', 'Model compute time per forecast', ['inst', 'tf']);
  const info = metrics.gauge('kokex_model_info', 'Model version serving the series (1)', ['inst', 'tf', 'model', 'version']);
  const skill = metrics.gauge('kokex_forecast_skill', 'Model skill scores over the window (lower is better except hitRate)', [
    'inst',
    'tf',
    'score',
  ]);
  const scored = metrics.gauge('kokex_forecast_scored', 'Forecasts scored in the skill window', ['inst', 'tf']);
  const serving = new Map<string, { model: string; version: string }>();
  return (f) => {
    const series = { inst: f.inst, tf: f.tf };
    total.inc({ ...series, tradeable: String(f.tradeable) });
    compute.observe(series, f.computeMs / 1000);
    const key = `${f.inst}|${f.tf}`;
    const before = serving.get(key);
    if (before && (before.model !== f.model.name || before.version !== f.model.version)) info.remove({ ...series, ...before });
    serving.set(key, { model: f.model.name, version: f.model.version });
    info.set({ ...series, model: f.model.name, version: f.model.version }, 1);
    for (const [score, value] of Object.entries(f.skill.model)) if (Number.isFinite(value)) skill.set({ ...series, score }, value);
    scored.set(series, f.skill.scored);
  };
}
