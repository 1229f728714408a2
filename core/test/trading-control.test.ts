import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyTradingCommand,
  Buckets,
  controlKey,
  decodeControl,
  ensureControl,
  initialControl,
  planOfControlKey,
  readControl,
  watchControls,
  writeControl,
} from '../src/index.js';
import { startTestNats, type TestNats } from '../src/testing/index.js';

describe('trading control transitions', () => {
  it('halts from anywhere (throwing the kill switch), reduces and resumes, and refuses a command that changes nothing', () => {
    const active = initialControl('active', 1);
    const halted = applyTradingCommand(active, 'halt', 'cli:a', 'why', 2);
    expect(halted).toEqual({ state: 'halted', killSwitch: true, by: 'cli:a', reason: 'why', at: 2 });
    const reducing = applyTradingCommand(halted!, 'reduce', 'cli:b', '', 3);
    expect(reducing).toMatchObject({ state: 'reducing', killSwitch: false, by: 'cli:b' });
    expect(applyTradingCommand(reducing!, 'reduce', 'x', '', 4)).toBeUndefined();
    expect(applyTradingCommand(active, 'resume', 'x', '', 4)).toBeUndefined();
    // Halting again throws the switch again (the executor sweeps open orders once more).
    expect(applyTradingCommand(halted!, 'halt', 'cli:c', 'again', 5)).toMatchObject({ state: 'halted', killSwitch: true, at: 5 });
    expect(applyTradingCommand(halted!, 'resume', 'cli:c', '', 5)).toMatchObject({ state: 'active', killSwitch: false });
    expect(applyTradingCommand(reducing!, 'resume', 'cli:d', '', 6)).toMatchObject({ state: 'active', killSwitch: false });
  });

  it('decodes only well-formed records and names plans by key', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeControl(enc(initialControl('reducing', 7)))).toEqual(initialControl('reducing', 7));
    expect(decodeControl(enc({ state: 'asleep', killSwitch: false, by: '', reason: '', at: 0 }))).toBeUndefined();
    expect(decodeControl(enc({ state: 'halted', killSwitch: 'yes', by: '', reason: '', at: 0 }))).toBeUndefined();
    expect(decodeControl(new TextEncoder().encode('{not json'))).toBeUndefined();
    expect(planOfControlKey(controlKey('demo'))).toBe('demo');
    expect(planOfControlKey('snapshot.demo')).toBeUndefined();
  });
});

describe('trading control records in kokex-risk', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('are created once, read, rewritten and watched; a malformed one reads as absent', async () => {
    const { bus } = nats;
    const seen: Array<[string, string | undefined]> = [];
    const stop = await watchControls(bus, (plan, record) => seen.push([plan, record?.state]));
    const first = await ensureControl(bus, 'p1', 'active', 1);
    // An existing record always wins over the plan's initial state.
    expect(await ensureControl(bus, 'p1', 'halted', 2)).toEqual(first);
    const halted = applyTradingCommand(first, 'halt', 'test', 'why', 3);
    await writeControl(bus, 'p1', halted!);
    expect(await readControl(bus, 'p1')).toEqual(halted);
    await expect(writeControl(bus, 'p2', { ...halted!, at: Number.NaN })).rejects.toThrow();
    await (await bus.kv(Buckets.risk)).put(controlKey('p3'), new TextEncoder().encode('{"state":"nope"}'));
    expect(await readControl(bus, 'p3')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    stop();
    expect(seen).toEqual([
      ['p1', 'active'],
      ['p1', 'halted'],
      ['p3', undefined],
    ]);
  });
});
