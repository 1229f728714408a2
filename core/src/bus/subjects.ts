import { describeTokenProblem } from '../contracts/tokens.js';
import { ErrorCode, KokexError } from '../errors.js';
import { isTimeframe, TIMEFRAMES } from '../time/timeframe.js';

/**
 * The one place subjects are built and parsed. Category first, instrument and timeframe last, so
 * `kokex.md.candle.*.*.1H` and `kokex.md.candle.okx.BTC-USDT-SWAP.>` select what a consumer needs
 * with the single filter nats-server 2.9 allows. Every token is checked; a bad one is an error that
 * names it.
 */
export class InvalidSubjectTokenError extends KokexError {
  constructor(field: string, token: string, problem: string) {
    super(ErrorCode.InvalidToken, `invalid ${field} token "${token}": it ${problem}`, { data: { field, token } });
  }
}

export class InvalidSubjectError extends KokexError {
  constructor(subject: string, reason: string) {
    super(ErrorCode.InvalidSubject, `cannot parse subject "${subject}": ${reason}`, { data: { subject } });
  }
}

/** Subject families: the fixed head tokens, then the names of the variable tokens in order. */
export const SUBJECT_FAMILIES = {
  /** Bars as a feed (or `kokex data pull`) saw them; only the validator reads these. */
  rawCandle: { head: ['kokex', 'md', 'raw'], keys: ['venue', 'inst', 'tf'] },
  /** Validated closed bars: the validator is their only writer, everything downstream reads these. */
  candle: { head: ['kokex', 'md', 'candle'], keys: ['venue', 'inst', 'tf'] },
  live: { head: ['kokex', 'md', 'live'], keys: ['venue', 'inst', 'tf'] },
  quality: { head: ['kokex', 'md', 'quality'], keys: ['venue', 'inst', 'tf'] },
  modelProgress: { head: ['kokex', 'model', 'progress'], keys: ['inst', 'tf'] },
  modelReady: { head: ['kokex', 'model', 'ready'], keys: ['inst', 'tf'] },
  forecast: { head: ['kokex', 'forecast'], keys: ['inst', 'tf'] },
  agentToken: { head: ['kokex', 'agent', 'token'], keys: ['plan', 'conversation'] },
  agentTurn: { head: ['kokex', 'agent', 'turn'], keys: ['plan'] },
  orderIntent: { head: ['kokex', 'order', 'intent'], keys: ['plan', 'inst'] },
  orderVerdict: { head: ['kokex', 'order', 'verdict'], keys: ['plan', 'inst'] },
  orderApproved: { head: ['kokex', 'order', 'approved'], keys: ['venue', 'inst'] },
  orderEvent: { head: ['kokex', 'order', 'event'], keys: ['venue', 'inst'] },
  /** A request to cancel a resting order (not an intent): judged by the guard's cancel checks only. */
  orderCancel: { head: ['kokex', 'order', 'cancel'], keys: ['plan', 'inst'] },
  cancelVerdict: { head: ['kokex', 'order', 'cancelverdict'], keys: ['plan', 'inst'] },
  /** What the executor may cancel, keyed by venue like approved orders. */
  cancelApproved: { head: ['kokex', 'order', 'cancelapproved'], keys: ['venue', 'inst'] },
  /** The executor's comparison of the venue with ORDERS, per plan and instrument: the venue's truth for the guard. */
  orderReconcile: { head: ['kokex', 'order', 'reconcile'], keys: ['plan', 'inst'] },
  clockTick: { head: ['kokex', 'clock', 'tick'], keys: ['tf'] },
  /** A plan's job fell due (the scheduler; one stored per fire across replicas). */
  scheduleFire: { head: ['kokex', 'clock', 'fire'], keys: ['plan', 'job'] },
  /** A stage of a scheduled run changed state. */
  scheduleStage: { head: ['kokex', 'clock', 'stage'], keys: ['plan', 'job'] },
  /** The scheduled-decision trigger for a plan's agent. */
  scheduleDecision: { head: ['kokex', 'clock', 'decide'], keys: ['plan'] },
  /** `kokex chat` requests to a plan's agent (core NATS request/reply). */
  agentChat: { head: ['kokex', 'agent', 'chat'], keys: ['plan'] },
  planChanged: { head: ['kokex', 'plan', 'changed'], keys: ['plan'] },
  dlq: { head: ['kokex', 'dlq'], keys: ['stream', 'consumer'] },
  /**
   * The control plane of one instance (`kind` = `host` and `instance` = the host id for a host):
   * request/reply on core NATS, endpoints of a NATS micro service.
   */
  control: { head: ['kokex', 'ctl'], keys: ['kind', 'instance', 'endpoint'] },
  /** A request to a kind rather than to one instance (one replica answers, or the one that has the job). */
  actorRequest: { head: ['kokex', 'ctl'], keys: ['kind', 'endpoint'] },
} as const satisfies Record<string, { head: readonly string[]; keys: readonly string[] }>;

export type SubjectFamily = keyof typeof SUBJECT_FAMILIES;
type KeysOf<F extends SubjectFamily> = (typeof SUBJECT_FAMILIES)[F]['keys'][number];
export type SubjectKey<F extends SubjectFamily> = { [K in KeysOf<F>]: string };
export type SubjectFilterKey<F extends SubjectFamily> = { [K in KeysOf<F>]?: string };
export type ParsedSubject = { [F in SubjectFamily]: { family: F } & SubjectKey<F> }[SubjectFamily];

function checkToken(field: string, token: string): string {
  const problem = describeTokenProblem(token);
  if (problem) throw new InvalidSubjectTokenError(field, token, problem);
  if (field === 'tf' && !isTimeframe(token)) {
    throw new InvalidSubjectTokenError(field, token, `is not a timeframe (one of ${TIMEFRAMES.join(', ')})`);
  }
  return token;
}

/** Builds the concrete subject of one message. */
export function subject<F extends SubjectFamily>(family: F, key: SubjectKey<F>): string {
  const def = SUBJECT_FAMILIES[family];
  const values = def.keys.map((k) => checkToken(k, (key as Record<string, string>)[k] ?? ''));
  return [...def.head, ...values].join('.');
}

/**
 * Builds a filter: omitted keys become `*`, and trailing omitted keys collapse into `>` only when
 * `tail` is set (so a filter never matches more than the family by accident).
 */
export function subjectFilter<F extends SubjectFamily>(family: F, key: SubjectFilterKey<F> = {}): string {
  const def = SUBJECT_FAMILIES[family];
  const values = def.keys.map((k) => {
    const v = (key as Record<string, string | undefined>)[k];
    return v === undefined || v === '*' ? '*' : checkToken(k, v);
  });
  return [...def.head, ...values].join('.');
}

/**
 * The leading part of a family's subject: its head and the given leading keys, up to the first one
 * omitted. A NATS micro service group is such a prefix (`subjectPrefix('control', {kind, instance})`
 * = `kokex.ctl.{kind}.{instance}`, to which each endpoint adds its name).
 */
export function subjectPrefix<F extends SubjectFamily>(family: F, key: SubjectFilterKey<F> = {}): string {
  const def = SUBJECT_FAMILIES[family];
  const values: string[] = [];
  for (const k of def.keys) {
    const v = (key as Record<string, string | undefined>)[k];
    if (v === undefined) break;
    values.push(checkToken(k, v));
  }
  return [...def.head, ...values].join('.');
}

/** `kokex.ctl.{kind}.{instance}.{endpoint}`: one control endpoint of one instance (or host: kind `host`). */
export function controlSubject(kind: string, instance: string, endpoint: string): string {
  return subject('control', { kind, instance, endpoint });
}

/** `kokex.ctl.{kind}.{endpoint}`: a request to any replica of a kind (`trainer.train`, `inferencer.forecast`). */
export function actorRequestSubject(kind: string, endpoint: string): string {
  return subject('actorRequest', { kind, endpoint });
}

/** Parses a concrete subject back into its family and keys. */
export function parseSubject(text: string): ParsedSubject {
  const tokens = text.split('.');
  for (const [family, def] of Object.entries(SUBJECT_FAMILIES)) {
    if (tokens.length !== def.head.length + def.keys.length) continue;
    if (!def.head.every((h, i) => tokens[i] === h)) continue;
    const parsed: Record<string, string> = { family };
    def.keys.forEach((k, i) => {
      const token = tokens[def.head.length + i] ?? '';
      try {
        parsed[k] = checkToken(k, token);
      } catch (err) {
        throw new InvalidSubjectError(text, (err as Error).message);
      }
    });
    return parsed as unknown as ParsedSubject;
  }
  throw new InvalidSubjectError(text, 'it matches no KOKEX subject family');
}

/** Message id for a closed candle: JetStream drops a second publish with the same id. */
export function candleMessageId(venue: string, inst: string, tf: string, ts: number): string {
  return `${venue}:${inst}:${tf}:${ts}`;
}
