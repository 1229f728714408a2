import { describe, expect, it } from 'vitest';
import {
  actorRequestGroup,
  actorRequestSubject,
  controlSubject,
  ErrorCode,
  instanceControlGroup,
  parseSubject,
  subject,
  subjectFilter,
  subjectPrefix,
} from '../src/index.js';

describe('subject families that were built by hand', () => {
  it('builds the same wire subjects as before', () => {
    expect(controlSubject('host', 'h1-abc', 'status')).toBe('kokex.ctl.host.h1-abc.status');
    expect(instanceControlGroup('clock', 'clock-1a2b3c4d')).toBe('kokex.ctl.clock.clock-1a2b3c4d');
    expect(actorRequestSubject('trainer', 'train')).toBe('kokex.ctl.trainer.train');
    expect(actorRequestSubject('inferencer', 'forecast')).toBe('kokex.ctl.inferencer.forecast');
    expect(actorRequestGroup('inferencer')).toBe('kokex.ctl.inferencer');
    expect(subject('scheduleFire', { plan: 'demo', job: 'retrain' })).toBe('kokex.clock.fire.demo.retrain');
    expect(subject('scheduleStage', { plan: 'demo', job: 'retrain' })).toBe('kokex.clock.stage.demo.retrain');
    expect(subject('scheduleDecision', { plan: 'demo' })).toBe('kokex.clock.decide.demo');
    expect(subject('agentChat', { plan: 'demo' })).toBe('kokex.agent.chat.demo');
    expect(subjectFilter('scheduleFire')).toBe('kokex.clock.fire.*.*');
    expect(subjectFilter('control', { endpoint: 'pause' })).toBe('kokex.ctl.*.*.pause');
  });

  it('parses them back into family and keys, a 4-token control subject as a kind request', () => {
    expect(parseSubject('kokex.ctl.trainer.cancel')).toEqual({ family: 'actorRequest', kind: 'trainer', endpoint: 'cancel' });
    expect(parseSubject('kokex.ctl.host.h1.reload')).toEqual({ family: 'control', kind: 'host', instance: 'h1', endpoint: 'reload' });
    expect(parseSubject('kokex.clock.decide.demo')).toEqual({ family: 'scheduleDecision', plan: 'demo' });
    expect(parseSubject('kokex.clock.tick.1m')).toEqual({ family: 'clockTick', tf: '1m' });
  });

  it('stops a prefix at the first key left out, and checks every token it uses', () => {
    expect(subjectPrefix('control', { kind: 'agent' })).toBe('kokex.ctl.agent');
    expect(subjectPrefix('control', { kind: 'agent', endpoint: 'status' })).toBe('kokex.ctl.agent');
    expect(subjectPrefix('candle')).toBe('kokex.md.candle');
    expect(() => controlSubject('host', 'my.host', 'status')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidToken }));
    expect(() => subject('scheduleFire', { plan: 'demo', job: 'a b' })).toThrow(/job/);
    expect(() => actorRequestGroup('>')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidToken }));
  });
});
