import { subject, subjectFilter } from '@kokex/core';

// The agent's messages (turns, tokens, chat, the scheduler's `schedule.decision`) are declared in
// core and imported from there; these are the subject filters and builders only the agent uses.

/** Where the scheduler publishes scheduled decisions (`kokex.clock.decide.*`, one plan per subject). */
export const DECIDE_SUBJECT_FILTER = subjectFilter('scheduleDecision');

/** Every plan's chat subject (`kokex.agent.chat.*`), for the agent's queue subscription. */
export const CHAT_SUBJECT_FILTER = subjectFilter('agentChat');

/** Request subject of `kokex chat`: `kokex.agent.chat.{plan}`. */
export function chatSubject(plan: string): string {
  return subject('agentChat', { plan });
}
