import { subject, subjectFilter } from '@kokex/core';

/**
 * The scheduler's subjects. Its messages (`schedule.fire`, `schedule.stage`, `schedule.decision`)
 * are declared once in `@kokex/core` and live in the CLOCK stream; the subjects come from core's
 * builder (families `scheduleFire`, `scheduleStage`, `scheduleDecision`), which checks every token.
 */
export const ScheduleSubjects = {
  fire: (plan: string, job: string) => subject('scheduleFire', { plan, job }),
  stage: (plan: string, job: string) => subject('scheduleStage', { plan, job }),
  decide: (plan: string) => subject('scheduleDecision', { plan }),
  fireFilter: subjectFilter('scheduleFire'),
} as const;
