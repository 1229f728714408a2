import type { TradingState } from '@kokex/core';
import { assign, setup, transition } from 'xstate';

/**
 * A plan's trading state, as Nautilus names it: ACTIVE (everything the limits allow), REDUCING
 * (only orders that shrink the position) and HALTED (nothing). HALT also throws the kill switch,
 * which tells the executor to cancel the plan's open orders; RESUME and REDUCE lower it again.
 * Plain data: the record lives in the `kokex-risk` bucket, and this machine only says which
 * command is allowed from where and what the record becomes.
 */
export interface ControlRecord {
  state: TradingState;
  killSwitch: boolean;
  /** Who changed it (`cli:alice`, `plan`), and why. */
  by: string;
  reason: string;
  at: number;
}

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
export function applyTradingCommand(current: ControlRecord, command: TradingCommand, by: string, reason: string, at: number) {
  const snapshot = tradingStateMachine.resolveState({ value: current.state, context: current });
  const event: TradingStateEvent = { type: command.toUpperCase() as TradingStateEvent['type'], by, reason, at };
  if (!snapshot.can(event)) return undefined;
  const [next] = transition(tradingStateMachine, snapshot, event);
  return { ...next.context };
}
