import { resolve } from 'node:path';
import type { Bus } from '../src/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';

export const COUNTER_V1 = resolve(__dirname, 'fixtures/plugins/counter-v1');
export const COUNTER_V2 = resolve(__dirname, 'fixtures/plugins/counter-v2');
export const CLOCK_PLUGIN = resolve(__dirname, '../../actors/clock');

export interface Report {
  id: string;
  n: number;
  version: string;
  instance: string;
  host: string;
}

/** Creates the test work stream the counter fixture consumes. */
export async function provisionWork(bus: Bus, name = 'TEST_WORK', subjects = ['test.work.>']): Promise<void> {
  await bus.provision({ streams: [{ name, subjects, duplicateWindowMs: 60_000 }], kv: [], objectStores: [] });
}

/** Collects the counter fixture's reports from core NATS. */
export function collectReports(bus: Bus, subject = 'test.report'): { reports: Report[]; stop(): void } {
  const reports: Report[] = [];
  const sub = bus.nc.subscribe(subject);
  void (async () => {
    for await (const m of sub) reports.push(JSON.parse(new TextDecoder().decode(m.data)) as Report);
  })();
  return { reports, stop: () => sub.unsubscribe() };
}

/** Publishes work items `from … from+count-1`; ids are unique per subject, so tests never collide. */
export async function publishWork(bus: Bus, from: number, count: number, subject = 'test.work.a'): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let n = from; n < from + count; n++) pending.push(bus.publish(WorkContract, subject, { n }, { id: `${subject}:${n}` }));
  await Promise.all(pending);
}

export function duplicatesOf(ids: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}
