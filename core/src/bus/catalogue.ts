import { ErrorCode, KokexError } from '../errors.js';
import { SUBJECT_FAMILIES, type SubjectFamily } from './subjects.js';
import { KOKEX_TOPOLOGY, Streams, type Topology } from './topology.js';

/**
 * The catalogue: for every subject family, where its messages live, which message types travel on
 * it, who produces them and what they are. `docs/subjects.md` is generated from it
 * (`npm run docs:subjects`), and tests hold it to the code: every family has an entry (the type
 * below makes a missing one a compile error), every message type named here is exactly one contract
 * exported by `@kokex/core` and every such contract is named here, and each family's stream is the
 * one the topology stores its subjects in.
 */

/** How a family's messages travel. */
export const Transport = {
  /** Stored in a JetStream stream, read through durable consumers. */
  stream: 'stream',
  /** Core NATS publish/subscribe: nothing is stored. */
  core: 'core',
  /** Core NATS request/reply with a JSON body (no envelope). */
  request: 'request',
} as const;
export type Transport = (typeof Transport)[keyof typeof Transport];

/** A message type as its contract declares it (`Contract.type`, `Contract.version`). */
export interface CatalogueMessage {
  type: string;
  version: number;
}

export interface CatalogueEntry {
  transport: Transport;
  /** The stream that stores the family (transport `stream` only). */
  stream?: Streams;
  /** The envelope types on the family; empty for request/reply families. */
  messages: readonly CatalogueMessage[];
  /** Who publishes (actor kinds, or CLI commands in backquotes). */
  producers: readonly string[];
  /** Message id pattern (the JetStream de-duplication id), where it is fixed. */
  id?: string;
  /** One line: what a message on it says. */
  description: string;
}

const m = (type: string, version = 1): CatalogueMessage => ({ type, version });

export const SUBJECT_CATALOGUE: { readonly [F in SubjectFamily]: CatalogueEntry } = {
  rawCandle: {
    transport: Transport.stream,
    stream: Streams.raw,
    messages: [m('md.raw')],
    producers: ['feed', '`kokex data pull`'],
    id: '{venue}:{inst}:{tf}:{ts}',
    description: 'closed bars as a feed or a pull saw them, checked by nobody yet: only the validator reads them',
  },
  candle: {
    transport: Transport.stream,
    stream: Streams.candles,
    messages: [m('md.candle')],
    producers: ['validator'],
    id: '{venue}:{inst}:{tf}:{ts}',
    description: 'validated closed bars: the validator is the only writer, everything downstream reads these',
  },
  live: {
    transport: Transport.core,
    messages: [m('md.candle')],
    producers: ['feed'],
    description: 'the forming bar, `confirmed: false`, as the venue updates it',
  },
  quality: {
    transport: Transport.stream,
    stream: Streams.quality,
    messages: [m('md.quality')],
    producers: ['validator'],
    description: '`kind: report` (gaps found, filled, rejected) or `kind: quarantine` (a bad bar and its reasons)',
  },
  modelProgress: {
    transport: Transport.stream,
    stream: Streams.models,
    messages: [m('model.progress')],
    producers: ['trainer'],
    description: 'training progress: stage, epoch, step, loss, rate, ETA',
  },
  modelReady: {
    transport: Transport.stream,
    stream: Streams.models,
    messages: [m('model.ready')],
    producers: ['trainer'],
    description: 'a new model version in the object store',
  },
  forecast: {
    transport: Transport.stream,
    stream: Streams.forecasts,
    messages: [m('forecast')],
    producers: ['inferencer'],
    description: "paths' statistics, P(up), skill summary, `tradeable`",
  },
  agentToken: {
    transport: Transport.core,
    messages: [m('agent.token')],
    producers: ['agent'],
    description: 'model text as it arrives, tool activity, the end',
  },
  agentTurn: {
    transport: Transport.stream,
    stream: Streams.agent,
    messages: [m('agent.turn')],
    producers: ['agent'],
    description: 'the audit trail: started, message, tool_call, tool_result, ended records',
  },
  orderIntent: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.intent', 2)],
    producers: ['agent', '`kokex order place`'],
    description: 'what someone wants traded, who and why, and the forecast or trigger it acted on',
  },
  orderVerdict: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.verdict')],
    producers: ['risk-guard'],
    description: 'approve/deny, reason code, rule, limit, value',
  },
  orderApproved: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.approved')],
    producers: ['risk-guard'],
    description: 'what the executor may place (client order id = idempotency key)',
  },
  orderEvent: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.event')],
    producers: ['executor'],
    description: 'accepted, partially filled, filled, canceled, rejected',
  },
  orderCancel: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.cancel')],
    producers: ['agent'],
    description: 'a request to cancel one resting order of a plan (not an intent)',
  },
  cancelVerdict: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.cancel.verdict')],
    producers: ['risk-guard'],
    description: "approve/deny of a cancel: the kill-switch and ownership checks only",
  },
  cancelApproved: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.cancel.approved')],
    producers: ['risk-guard'],
    description: 'what the executor may cancel at the venue',
  },
  orderReconcile: {
    transport: Transport.stream,
    stream: Streams.orders,
    messages: [m('order.reconcile')],
    producers: ['executor'],
    id: 'reconcile:{venue}:{plan}:{inst}:{run}:{status}',
    description:
      "the venue's open orders, position and balances against what ORDERS says, each difference named; the guard books the position and denies new risk while it says `reconciling`",
  },
  clockTick: {
    transport: Transport.stream,
    stream: Streams.clock,
    messages: [m('clock.tick')],
    producers: ['clock'],
    id: 'clock:{tf}:{boundary}',
    description:
      'one tick per bar boundary of a timeframe, at market time: wall-clock boundaries for live plans; for a replayed plan the boundaries its candles reach (`plan` set, id `clock:{plan}:{tf}:{boundary}`)',
  },
  scheduleFire: {
    transport: Transport.stream,
    stream: Streams.clock,
    messages: [m('schedule.fire')],
    producers: ['scheduler'],
    id: 'fire:{plan}:{job}:{at}',
    description: 'a job of a plan fell due; stored once across replicas, run by one',
  },
  scheduleStage: {
    transport: Transport.stream,
    stream: Streams.clock,
    messages: [m('schedule.stage')],
    producers: ['scheduler'],
    description: 'a stage of a scheduled run changed state (running, done, failed, skipped)',
  },
  scheduleDecision: {
    transport: Transport.stream,
    stream: Streams.clock,
    messages: [m('schedule.decision')],
    producers: ['scheduler'],
    description: "the scheduled-decision trigger for the plan's agent, with the forecast the run produced",
  },
  agentChat: {
    transport: Transport.request,
    messages: [],
    producers: ['`kokex chat`', 'dashboard'],
    description: 'a chat request `{conversation?, message, history}` to the plan\'s agent (queue group `kokex-agent`)',
  },
  planChanged: {
    transport: Transport.stream,
    stream: Streams.plans,
    messages: [m('plan.changed')],
    producers: ['`kokex plan apply`', '`kokex plan rm`', 'dashboard'],
    description: 'a plan was applied or deleted',
  },
  dlq: {
    transport: Transport.stream,
    stream: Streams.deadLetters,
    messages: [m('sys.dead-letter')],
    producers: ['every host'],
    id: 'dlq:{stream}:{consumer}:{seq}',
    description: 'a message that failed every allowed delivery: an excerpt of the payload and the error',
  },
  control: {
    transport: Transport.request,
    messages: [],
    producers: ['`kokex plugin`', 'dashboard', 'operators (any NATS client)'],
    description:
      "an instance's endpoints `status`, `pause`, `resume`, `restart`, `drain`, `reload`; a host's (kind `host`, instance = host id) `status`, `load`, `unload`, `reload`",
  },
  actorRequest: {
    transport: Transport.request,
    messages: [],
    producers: ['`kokex train`', '`kokex forecast`', '`kokex backtest`', 'scheduler'],
    description:
      'a request to any replica of a kind: `trainer.train` `{plan}` (queue group `kokex-trainer`), `trainer.cancel` `{jobId}`, `inferencer.forecast` `{inst, tf}`, `okx-sim.step` `{bars}` and `okx-sim.status` `{}` (a simulator in lockstep, driven by `kokex backtest`)',
  },
};

/** A family's subject with its variable tokens in braces: `kokex.md.candle.{venue}.{inst}.{tf}`. */
export function subjectPattern(family: SubjectFamily): string {
  const def = SUBJECT_FAMILIES[family];
  return [...def.head, ...def.keys.map((k) => `{${k}}`)].join('.');
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function duration(ms: number): string {
  if (ms % DAY === 0) return ms === DAY ? '1 day' : `${ms / DAY} days`;
  if (ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${ms / 1000} s`;
}

function bytes(n: number): string {
  return n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`;
}

function where(entry: CatalogueEntry): string {
  if (entry.transport === Transport.stream) return entry.stream ?? '?';
  return entry.transport === Transport.core ? 'none (core NATS)' : 'none (request/reply)';
}

function messagesOf(entry: CatalogueEntry): string {
  const types = entry.messages.map((x) => `\`${x.type}\` v${x.version}`).join(', ');
  const id = entry.id ? `, id \`${entry.id}\`` : '';
  return types ? `${types}${id}` : 'JSON request/reply';
}

/** The tables of `docs/subjects.md`: subjects from the catalogue, streams and buckets from the topology. */
export function renderCatalogueTables(topology: Topology = KOKEX_TOPOLOGY): string {
  const lines: string[] = [];
  lines.push('## Subjects', '| family | subject | stream | message type | producers | what it says |', '| --- | --- | --- | --- | --- | --- |');
  for (const family of Object.keys(SUBJECT_FAMILIES) as SubjectFamily[]) {
    const e = SUBJECT_CATALOGUE[family];
    lines.push(`| ${family} | \`${subjectPattern(family)}\` | ${where(e)} | ${messagesOf(e)} | ${e.producers.join(', ')} | ${e.description} |`);
  }
  lines.push('', '## Streams', '| stream | subjects | retention | largest message | holds |', '| --- | --- | --- | --- | --- |');
  for (const s of topology.streams) {
    const age = s.maxAgeMs ? duration(s.maxAgeMs) : 'forever';
    const retention = [s.maxMsgs && s.maxMsgs > 0 ? `${age} or ${s.maxMsgs.toLocaleString('en-US')} messages` : age];
    if (s.duplicateWindowMs) retention.push(`de-duplication window ${duration(s.duplicateWindowMs)}`);
    const size = s.maxMsgSize ? bytes(s.maxMsgSize) : 'server default';
    lines.push(`| ${s.name} | ${s.subjects.map((x) => `\`${x}\``).join(', ')} | ${retention.join('; ')} | ${size} | ${s.description ?? ''} |`);
  }
  lines.push('', '## KV buckets and object stores', '| bucket | kind | holds |', '| --- | --- | --- |');
  for (const k of topology.kv) {
    const detail = k.ttlMs ? `entries expire after ${duration(k.ttlMs)}` : k.history && k.history > 1 ? `${k.history} revisions` : '';
    lines.push(`| ${k.bucket} | KV${detail ? ` (${detail})` : ''} | ${k.description ?? ''} |`);
  }
  for (const o of topology.objectStores) lines.push(`| ${o.bucket} | object store | ${o.description ?? ''} |`);
  return lines.join('\n');
}

/** Where the generated tables sit in `docs/subjects.md`. */
export const CATALOGUE_BEGIN = '<!-- catalogue:begin (generated by `npm run docs:subjects` from core/src/bus/catalogue.ts; do not edit) -->';
export const CATALOGUE_END = '<!-- catalogue:end -->';

/** `text` with the generated tables between the markers replaced by the current ones. */
export function withCatalogueTables(text: string, topology: Topology = KOKEX_TOPOLOGY): string {
  const begin = text.indexOf(CATALOGUE_BEGIN);
  const end = text.indexOf(CATALOGUE_END);
  if (begin < 0 || end < begin) throw new KokexError(ErrorCode.Internal, 'docs/subjects.md has no catalogue markers');
  return `${text.slice(0, begin + CATALOGUE_BEGIN.length)}\n${renderCatalogueTables(topology)}\n${text.slice(end)}`;
}
