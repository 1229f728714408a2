import {
  type ActorAccess,
  type ActorContext,
  type ActorLogic,
  AdapterPort,
  ApprovedOrderContract,
  adapterFor,
  type ConsumerBinding,
  type Contract,
  consume,
  defineActorKind,
  type Envelope,
  type HistoryStore,
  type HistoryWrite,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  Streams,
  type SubjectFamily,
  subjectFilter,
  Tokens,
} from '@kokex/core';
import { type HistoryConfig, historyConfigSchema } from './config.js';
import { HistoryWriteError } from './errors.js';
import { projectApproved, projectIntent, projectOrderEvent, projectTurn, projectVerdict } from './projection.js';
import { AgentTurnContract } from '@kokex/core';

/** One durable consumer per message type: nats-server 2.9 allows one filter, and a consumer decodes one contract. */
interface Feed {
  name: 'turns' | 'intents' | 'verdicts' | 'approved' | 'orderEvents';
  durableSuffix: string;
  stream: string;
  family: SubjectFamily;
  contract: Contract<any, any>;
  project: (env: Envelope<any>) => HistoryWrite[];
}

const FEEDS: readonly Feed[] = [
  { name: 'turns', durableSuffix: 'turns', stream: Streams.agent, family: 'agentTurn', contract: AgentTurnContract, project: projectTurn },
  {
    name: 'intents',
    durableSuffix: 'intents',
    stream: Streams.orders,
    family: 'orderIntent',
    contract: OrderIntentContract,
    project: projectIntent,
  },
  {
    name: 'verdicts',
    durableSuffix: 'verdicts',
    stream: Streams.orders,
    family: 'orderVerdict',
    contract: OrderVerdictContract,
    project: projectVerdict,
  },
  {
    name: 'approved',
    durableSuffix: 'approved',
    stream: Streams.orders,
    family: 'orderApproved',
    contract: ApprovedOrderContract,
    project: projectApproved,
  },
  {
    name: 'orderEvents',
    durableSuffix: 'order-events',
    stream: Streams.orders,
    family: 'orderEvent',
    contract: OrderEventContract,
    project: projectOrderEvent,
  },
];

const durableOf = (config: HistoryConfig, feed: Feed) => `${config.durablePrefix}-${feed.durableSuffix}`;

/** Said in the log and the status when there is nothing to project into. */
export function idleStatusLine(env: string): string {
  return `idle: ${env} is not set, so conversations and orders are not projected (set ${env}=mongodb://host:27017/kokex to enable)`;
}

/**
 * The history projector: conversations, messages and tool calls (stream AGENT) and order intents,
 * verdicts, approved orders and order events (stream ORDERS) into a `HistoryStore`, the `store`
 * adapter named by `store.adapter` (`mongo` by default), resolved from core's adapter registry with
 * the URL from `store.urlEnv` (`MONGO_URL`). Without that variable the actor runs idle: no
 * consumers, a status line that says why, and nothing else in KOKEX notices.
 */
export function createHistoryLogic(ctx: ActorContext<HistoryConfig>): ActorLogic<HistoryConfig> {
  const config = ctx.config;
  const { adapter, urlEnv } = config.store;
  const url = urlEnv === null ? undefined : process.env[urlEnv]?.trim() || undefined;
  const idle = urlEnv !== null && !url;
  let store: HistoryStore | undefined;
  let statusLine = idle ? idleStatusLine(urlEnv) : `connecting to the ${adapter} store`;
  const projected: Record<Feed['name'], number> = { turns: 0, intents: 0, verdicts: 0, approved: 0, orderEvents: 0 };
  const documents = { inserted: 0, existing: 0 };

  const handle = (feed: Feed) => async (env: Envelope<unknown>) => {
    // Consumers start only after start() has a store; this guards a stop racing a last delivery,
    // which is then redelivered (retryable) rather than lost.
    if (!store) throw new HistoryWriteError(feed.name, new Error('the store is closed'));
    const result = await store.apply(feed.project(env));
    projected[feed.name]++;
    documents.inserted += result.inserted;
    documents.existing += result.existing;
  };

  const consumers: ConsumerBinding[] = idle
    ? []
    : FEEDS.map((feed) =>
        consume(
          {
            stream: feed.stream,
            durable: durableOf(config, feed),
            filter: subjectFilter(feed.family),
            contract: feed.contract,
            maxInFlight: config.maxInFlight,
          },
          handle(feed),
        ),
      );

  return {
    consumers,
    async start() {
      if (idle) {
        ctx.log.info({ env: urlEnv }, `history: ${statusLine}`);
        return;
      }
      // The registry creates the store (no I/O) and caches it per config; open() connects. The
      // host closes it with its other adapters: a reloaded instance shares it with its successor.
      const resolved = await adapterFor(
        ctx.container.resolve(Tokens.Adapters),
        AdapterPort.store,
        { name: adapter, config: url ? { url } : {} },
        config.adapters,
      );
      await resolved.open();
      store = resolved;
      statusLine = `projecting into ${store.describe()}`;
      ctx.log.info({ durables: FEEDS.map((f) => durableOf(config, f)) }, `history: ${statusLine}`);
    },
    async stop() {
      store = undefined;
    },
    status: () => ({ status: statusLine, idle, projected: { ...projected }, documents: { ...documents } }),
  };
}

/** What the projector touches on the bus: its five durables, nothing else. */
export function historyAccess(config: HistoryConfig): Partial<ActorAccess> {
  return {
    consume: FEEDS.map((feed) => ({ stream: feed.stream, durable: durableOf(config, feed), filter: subjectFilter(feed.family) })),
  };
}

export const historyActor = defineActorKind<HistoryConfig>({
  kind: 'history',
  description:
    'Projects conversations, tool calls, order intents, verdicts, orders and order events into a store adapter, MongoDB by default (idle without MONGO_URL)',
  configSchema: historyConfigSchema,
  create: createHistoryLogic,
  // The durables its logic runs, declared from the same config: the host refuses any other.
  bus: { consumes: ({ config }) => historyAccess(config).consume ?? [] },
});
