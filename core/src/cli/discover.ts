import { Svcm } from '@nats-io/services';
import type { Bus } from '../bus/bus.js';
import { errorFromWire } from '../errors.js';
import { controlSubject } from '../bus/subjects.js';

/** What `nats micro info` returns for one service instance, reduced to what the CLI needs. */
export interface ServiceInstance {
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
  endpoints: Array<{ name: string; subject: string }>;
}

/** Lists service instances the way the NATS CLI does: a `$SRV.INFO[.name]` request gathering every reply. */
export async function discoverServices(bus: Bus, name?: string, maxWaitMs = 1000): Promise<ServiceInstance[]> {
  const client = new Svcm(bus.nc).client({ strategy: 'stall', stall: 300, maxWait: maxWaitMs });
  const out: ServiceInstance[] = [];
  for await (const info of await client.info(name)) {
    out.push({
      name: info.name,
      id: info.id,
      version: info.version,
      metadata: info.metadata ?? {},
      endpoints: info.endpoints.map((e) => ({ name: e.name, subject: e.subject })),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || (a.metadata.instance ?? '').localeCompare(b.metadata.instance ?? ''));
}

/** Calls a control endpoint and returns its JSON reply, turning `{ok:false}` into a typed error. */
export async function callControl<T = Record<string, unknown>>(
  bus: Bus,
  subjectOrTokens: string | readonly [kind: string, instance: string, endpoint: string],
  body: unknown = {},
  timeoutMs = 30_000,
): Promise<T> {
  const subject = typeof subjectOrTokens === 'string' ? subjectOrTokens : controlSubject(...subjectOrTokens);
  const reply = await bus.nc.request(subject, new TextEncoder().encode(JSON.stringify(body)), { timeout: timeoutMs });
  const parsed = JSON.parse(new TextDecoder().decode(reply.data)) as { ok: boolean; error?: unknown } & T;
  if (!parsed.ok) throw errorFromWire(parsed.error);
  return parsed;
}
