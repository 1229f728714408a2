import { assign, setup, transition } from 'xstate';
import { z } from 'zod';
import type { Bus } from '../bus/bus.js';
import { Buckets } from '../bus/topology.js';
import { TRADING_STATES, type TradingState } from '../plan/risk.js';

/**
 * A plan's trading state and kill switch, as Nautilus names the states: ACTIVE (everything the
 * limits allow), REDUCING (only orders that shrink the position) and HALTED (nothing). HALT also
 * throws the kill switch, which tells the executor to cancel the plan's open orders; RESUME and
 * REDUCE lower it again.
 *
 * The record lives in the `kokex-risk` bucket under `control.{plan}`. It is core's because three
 * actors meet on it: the risk guard creates and obeys it, the executor obeys it, and the CLI and
 * the dashboard change it. One schema and one transition machine here, so none of them keeps a
 * copy of the rules that could drift.
 */
export const tradingControlSchema = z.object({
  state: z.enum(TRADING_STATES),
  killSwitch: z.boolean(),
  /** Who changed it (`cli:alice`, `dashboard:ann`, `plan`), and why. */
  by: z.string().max(200),
  reason: z.string().max(2000),
  /** When, in ms. */
  at: z.number().finite(),
});
export type ControlRecord = z.output<typeof tradingControlSchema>;

export const TRADING_COMMANDS = ['halt', 'reduce', 'resume'] as const;
export type TradingCommand = (typeof TRADING_COMMANDS)[number];

export type TradingStateEvent = { type: 'HALT' | 'REDUCE' | 'RESUME'; by: string; reason: string; at: number };

export const tradingStateMachine = setup({
  types: { context: {} as ControlRecord, events: {} as TradingStateEvent, input: {} as ControlRecord },
  actions: {
    stamp: assign(({ event }) => ({ by: event.by, reason: event.reason, at: event.at })),
    throwKillSwitch: assign({ killSwitch: true }),
    lowerKillSwitch: assign({ killSwitch: false }),
  },
}).createMachine({
  id: 'tradingState',
  context: ({ input }) => input,
  initial: 'active',
  states: {
    active: {
      entry: assign({ state: 'active' }),
      on: {
        HALT: { target: 'halted', actions: ['stamp', 'throwKillSwitch'] },
        REDUCE: { target: 'reducing', actions: ['stamp', 'lowerKillSwitch'] },
      },
    },
    reducing: {
      entry: assign({ state: 'reducing' }),
      on: {
        HALT: { target: 'halted', actions: ['stamp', 'throwKillSwitch'] },
        RESUME: { target: 'active', actions: ['stamp', 'lowerKillSwitch'] },
      },
    },
    halted: {
      entry: assign({ state: 'halted' }),
      on: {
        // Halting again throws the switch again: the executor sweeps open orders once more.
        HALT: { target: 'halted', reenter: true, actions: ['stamp', 'throwKillSwitch'] },
        REDUCE: { target: 'reducing', actions: ['stamp', 'lowerKillSwitch'] },
        RESUME: { target: 'active', actions: ['stamp', 'lowerKillSwitch'] },
      },
    },
  },
});

/** The record a plan starts with (`risk.initialState`); the kill switch starts down. */
export function initialControl(state: TradingState, at: number): ControlRecord {
  return { state, killSwitch: false, by: 'plan', reason: 'risk.initialState', at };
}

/**
 * The record after a command, or undefined when the state does not accept it (resume while
 * active, reduce while reducing).
 */
export function applyTradingCommand(
  current: ControlRecord,
  command: TradingCommand,
  by: string,
  reason: string,
  at: number,
): ControlRecord | undefined {
  const snapshot = tradingStateMachine.resolveState({ value: current.state, context: current });
  const event: TradingStateEvent = { type: command.toUpperCase() as TradingStateEvent['type'], by, reason, at };
  if (!snapshot.can(event)) return undefined;
  const [next] = transition(tradingStateMachine, snapshot, event);
  return { ...next.context };
}

/** Keys of the control records in the `kokex-risk` bucket: `control.{plan}`. */
export const CONTROL_PREFIX = 'control';

export function controlKey(plan: string): string {
  return `${CONTROL_PREFIX}.${plan}`;
}

/** The plan a control key names, or undefined for another key of the bucket. */
export function planOfControlKey(key: string): string | undefined {
  return key.startsWith(`${CONTROL_PREFIX}.`) ? key.slice(CONTROL_PREFIX.length + 1) : undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stored record, or undefined when the bytes are not one (a reader never acts on a malformed record). */
export function decodeControl(bytes: Uint8Array): ControlRecord | undefined {
  try {
    const parsed = tradingControlSchema.safeParse(JSON.parse(decoder.decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function readControl(bus: Bus, plan: string): Promise<ControlRecord | undefined> {
  const entry = await (await bus.kv(Buckets.risk)).get(controlKey(plan));
  return entry?.operation === 'PUT' ? decodeControl(entry.value) : undefined;
}

export async function writeControl(bus: Bus, plan: string, record: ControlRecord): Promise<void> {
  const valid = tradingControlSchema.parse(record);
  await (await bus.kv(Buckets.risk)).put(controlKey(plan), encoder.encode(JSON.stringify(valid)));
}

/** Creates the plan's record unless one exists (an existing record always wins); returns the record in force. */
export async function ensureControl(bus: Bus, plan: string, initial: TradingState, at: number): Promise<ControlRecord> {
  const kv = await bus.kv(Buckets.risk);
  const fresh = initialControl(initial, at);
  try {
    await kv.create(controlKey(plan), encoder.encode(JSON.stringify(fresh)));
    return fresh;
  } catch {
    return (await readControl(bus, plan)) ?? fresh;
  }
}

/** Calls `onChange(plan, record)` for every record now and every change after; returns the stop function. */
export async function watchControls(bus: Bus, onChange: (plan: string, record: ControlRecord | undefined) => void): Promise<() => void> {
  const kv = await bus.kv(Buckets.risk);
  const watch = await kv.watch({ key: `${CONTROL_PREFIX}.>` });
  void (async () => {
    for await (const e of watch) {
      const plan = planOfControlKey(e.key);
      if (plan !== undefined) onChange(plan, e.operation === 'PUT' ? decodeControl(e.value) : undefined);
    }
  })();
  return () => watch.stop();
}
