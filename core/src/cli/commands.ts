import type { Bus } from '../bus/bus.js';
import { Buckets } from '../bus/topology.js';
import { ErrorCode, KokexError } from '../errors.js';
import type { ActorStatus } from '../host/instance.js';
import { loadPlanFile } from '../plan/load.js';
import { applyPlan, deletePlan, listPlans } from '../plan/store.js';
import { callControl, discoverServices } from './discover.js';
import { UsageError } from './errors.js';
import { ago, bytes, isoMinute, table } from './format.js';

/** Commands that only talk to a running system. Each returns the text to print. */

export async function validatePlans(files: string[]): Promise<string> {
  if (files.length === 0) throw new UsageError('plan validate needs at least one plan file');
  const lines: string[] = [];
  for (const f of files) {
    const plan = await loadPlanFile(f);
    lines.push(`${f}: ok (plan ${plan.metadata.name}, ${plan.spec.venue.name} ${plan.spec.instrument} ${plan.spec.timeframe})`);
  }
  return lines.join('\n');
}

export async function applyPlans(bus: Bus, files: string[]): Promise<string> {
  if (files.length === 0) throw new UsageError('plan apply needs at least one plan file');
  const plans = [];
  // Validate all first: a batch with one bad file applies nothing.
  for (const f of files) plans.push({ file: f, plan: await loadPlanFile(f) });
  const lines: string[] = [];
  for (const { file, plan } of plans) {
    const r = await applyPlan(bus, plan, file);
    const what =
      r.action === 'unchanged'
        ? 'unchanged'
        : `${r.action} (revision ${r.revision}; changed: ${r.changedSections.join(', ') || 'nothing'})`;
    lines.push(`plan ${r.name}: ${what}`);
  }
  return lines.join('\n');
}

/** Listing commands print a table, or with `--json` one JSON document for machines. */
export interface ListOptions {
  json?: boolean;
}

const asJson = (value: unknown) => JSON.stringify(value, null, 2);

export async function planList(bus: Bus, o: ListOptions = {}): Promise<string> {
  const plans = await listPlans(bus);
  if (o.json) {
    return asJson(
      plans.map((p) => ({ name: p.plan.metadata.name, revision: p.revision, source: p.source, appliedAt: p.appliedAt, plan: p.plan })),
    );
  }
  if (plans.length === 0) return 'no plans applied (apply one with: npx kokex plan apply plans/demo.yaml)';
  return table(
    ['PLAN', 'REV', 'VENUE', 'MODE', 'INSTRUMENT', 'TF', 'SOURCE', 'APPLIED'],
    plans.map((p) => [
      p.plan.metadata.name,
      p.revision,
      p.plan.spec.venue.name,
      p.plan.spec.venue.mode,
      p.plan.spec.instrument,
      p.plan.spec.timeframe,
      p.source,
      `${ago(Date.now() - p.appliedAt)} ago`,
    ]),
  );
}

export async function planRemove(bus: Bus, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('plan rm needs a plan name');
  if (await deletePlan(bus, name)) return `plan ${name} deleted`;
  // Deleting what is not there is a failure (exit 1), so a script sees a typo.
  const known = (await listPlans(bus)).map((p) => p.plan.metadata.name);
  throw new KokexError(ErrorCode.PlanNotFound, `no plan named ${name} (stored: ${known.join(', ') || 'none'})`, { data: { plan: name } });
}

export async function actorStatuses(bus: Bus): Promise<Array<ActorStatus & { lag?: number }>> {
  const out: Array<ActorStatus & { lag?: number }> = (await bus.kvEntries(Buckets.actors)).map((e) => e.json());
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.instanceId.localeCompare(b.instanceId));
}

export async function actorsTable(bus: Bus, o: ListOptions = {}): Promise<string> {
  const statuses = await actorStatuses(bus);
  if (o.json) return asJson(statuses);
  if (statuses.length === 0) return 'no live actors (start them with: npx kokex up)';
  const now = Date.now();
  return table(
    ['KIND', 'INSTANCE', 'STATE', 'VERSION', 'HOST', 'LAG', 'DONE', 'FAILED', 'DLQ', 'UP', 'SEEN', 'DETAIL'],
    statuses.map((s) => [
      s.kind,
      s.instanceId,
      s.state,
      s.version,
      s.hostId,
      s.lag ?? 0,
      s.processed,
      s.failed,
      s.deadLettered,
      ago(now - s.startedAt),
      `${ago(now - s.updatedAt)} ago`,
      detailText(s.detail),
    ]),
  );
}

/**
 * An actor's own `status()` fields for the DETAIL column: `key=value` in its order, strings as
 * they are and anything else as JSON, cut to `max` characters (`--json` has them whole).
 */
export function detailText(detail: Record<string, unknown> | undefined, max = 60): string {
  const parts = Object.entries(detail ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const text = parts.join(' ');
  if (!text) return '-';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export async function streamsTable(bus: Bus, o: ListOptions = {}): Promise<string> {
  const rows: Array<Array<string | number>> = [];
  const docs: Array<Record<string, unknown>> = [];
  for await (const s of bus.jsm.streams.list()) {
    const consumers: string[] = [];
    const consumerDocs: Array<Record<string, unknown>> = [];
    for await (const c of bus.jsm.consumers.list(s.config.name)) {
      consumers.push(`${c.name} (lag ${c.num_pending + c.num_ack_pending}, redelivered ${c.num_redelivered})`);
      consumerDocs.push({ name: c.name, pending: c.num_pending, ackPending: c.num_ack_pending, redelivered: c.num_redelivered });
    }
    rows.push([s.config.name, s.config.subjects?.join(' ') ?? '', s.state.messages, bytes(s.state.bytes), consumers.join('; ') || '-']);
    docs.push({
      name: s.config.name,
      subjects: s.config.subjects ?? [],
      messages: s.state.messages,
      bytes: s.state.bytes,
      consumers: consumerDocs,
    });
  }
  rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  if (o.json) return asJson(docs.sort((a, b) => String(a.name).localeCompare(String(b.name))));
  return table(['STREAM', 'SUBJECTS', 'MSGS', 'SIZE', 'CONSUMERS'], rows);
}

async function hostIds(bus: Bus, only?: string): Promise<string[]> {
  const hosts = (await discoverServices(bus, 'kokex-host')).map((s) => s.metadata.host ?? '').filter(Boolean);
  if (hosts.length === 0) throw new UsageError('no running host answered (start one with: npx kokex up)');
  if (only) {
    if (!hosts.includes(only)) throw new UsageError(`no host ${only}; running hosts: ${hosts.join(', ')}`);
    return [only];
  }
  return hosts;
}

export async function pluginCommand(
  bus: Bus,
  verb: string | undefined,
  arg: string | undefined,
  opts: { host?: string; path?: string; json?: boolean },
): Promise<string> {
  if (!verb || !['load', 'unload', 'reload', 'ls'].includes(verb))
    throw new UsageError('usage: kokex plugin load <dir> | unload <name> | reload <name> [--path dir] | ls');
  const hosts = await hostIds(bus, opts.host);
  const lines: string[] = [];
  const listed: Array<{ host: string; name: string; version: string; actors: string[] }> = [];
  for (const host of hosts) {
    if (verb === 'ls') {
      const r = await callControl<{ plugins: Array<{ name: string; version: string; actors: string[] }> }>(bus, ['host', host, 'status']);
      for (const p of r.plugins) {
        lines.push(`${host}: ${p.name}@${p.version} (${p.actors.join(', ') || 'adapters only'})`);
        listed.push({ host, name: p.name, version: p.version, actors: p.actors });
      }
      continue;
    }
    if (!arg) throw new UsageError(`plugin ${verb} needs ${verb === 'load' ? 'a plugin directory' : 'a plugin name'}`);
    if (verb === 'load') {
      const r = await callControl<{ plugin: string; version: string }>(bus, ['host', host, 'load'], { path: arg });
      lines.push(`${host}: loaded ${r.plugin}@${r.version}`);
    } else if (verb === 'unload') {
      const r = await callControl<{ stopped: number }>(bus, ['host', host, 'unload'], { name: arg });
      lines.push(`${host}: unloaded ${arg} (${r.stopped} actor instance(s) drained)`);
    } else {
      const r = await callControl<{ result: { from: string; to: string; replaced: number } }>(bus, ['host', host, 'reload'], {
        name: arg,
        path: opts.path,
      });
      lines.push(`${host}: reloaded ${arg} ${r.result.from} → ${r.result.to} (${r.result.replaced} instance(s) replaced, nothing dropped)`);
    }
  }
  if (opts.json && verb === 'ls') return asJson(listed);
  return lines.join('\n');
}

export async function microList(bus: Bus, o: ListOptions = {}): Promise<string> {
  const services = await discoverServices(bus);
  if (o.json) return asJson(services.map((s) => ({ name: s.name, version: s.version, id: s.id, metadata: s.metadata })));
  return table(
    ['SERVICE', 'VERSION', 'INSTANCE', 'HOST', 'ID'],
    services.map((s) => [s.name, s.version, s.metadata.instance ?? '-', s.metadata.host ?? '-', s.id]),
  );
}

/** Prints messages on a subject filter as they pass, decoded when they are KOKEX envelopes. */
export async function tail(
  bus: Bus,
  filter: string | undefined,
  opts: { json?: boolean; count?: number; print: (line: string) => void; signal?: AbortSignal },
): Promise<number> {
  if (!filter) throw new UsageError('usage: kokex tail <subject filter>   e.g. kokex tail "kokex.clock.>"');
  const sub = bus.nc.subscribe(filter, opts.count ? { max: opts.count } : undefined);
  opts.signal?.addEventListener('abort', () => sub.unsubscribe());
  let n = 0;
  for await (const m of sub) {
    n++;
    const text = new TextDecoder().decode(m.data);
    if (opts.json) {
      opts.print(JSON.stringify({ subject: m.subject, message: safeJson(text) }));
      continue;
    }
    const env = safeJson(text) as
      | { type?: string; v?: number; id?: string; correlationId?: string; time?: number; data?: unknown }
      | undefined;
    if (env && typeof env === 'object' && env.type && env.data !== undefined) {
      opts.print(
        `${isoMinute(env.time ?? Date.now())}  ${m.subject}  ${env.type}/v${env.v}  id=${env.id}  corr=${env.correlationId}  ${summarize(env.data)}`,
      );
    } else {
      opts.print(`${isoMinute(Date.now())}  ${m.subject}  ${text.slice(0, 200)}`);
    }
  }
  return n;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function summarize(data: unknown): string {
  const s = JSON.stringify(data);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}
