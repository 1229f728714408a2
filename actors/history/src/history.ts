import {
  type ActorAccess,
  type ActorContext,
  type ActorLogic,
  ApprovedOrderContract,
  type ConsumerBinding,
  type Contract,
  consume,
  defineActorKind,
  type Envelope,
  OrderEventContract,
  OrderIntentContract,
  OrderVerdictContract,
  Streams,
  type SubjectFamily,
  subjectFilter,
} from '@kokex/core';
import { type HistoryConfig, historyConfigSchema } from './config.js';
import { HistoryMongoUrlError, HistoryWriteError, redactMongoUrl } from './errors.js';
import { type HistoryWrite, projectApproved, projectIntent, projectOrderEvent, projectTurn, projectVerdict } from './projection.js';
import { type HistoryStore, MongoHistoryStore } from './store.js';
import { HISTORY_STORE } from './tokens.js';
import { AgentTurnContract } from './turn-contract.js';

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
 * verdicts, approved orders and order events (stream ORDERS) into a `HistoryStore`, MongoDB when
 * `MONGO_URL` is set. Without it the actor runs idle: no consumers, a status line that says why,
 * and nothing else in KOKEX notices. A store registered under `HISTORY_STORE` in the host's
 * container takes precedence (tests, another database).
 */
export function createHistoryLogic(ctx: ActorContext<HistoryConfig>): ActorLogic<HistoryConfig> {
  const config = ctx.config;
  const injected = ctx.container.isRegistered(HISTORY_STORE, true) ? ctx.container.resolve<HistoryStore>(HISTORY_STORE) : undefined;
  const url = process.env[config.mongoUrlEnv]?.trim() || undefined;
  const idle = !injected && !url;
  let store: HistoryStore | undefined = injected;
  let statusLine = idle ? idleStatusLine(config.mongoUrlEnv) : `connecting to ${url ? redactMongoUrl(url) : 'the injected store'}`;
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
        ctx.log.info({ env: config.mongoUrlEnv }, `history: ${statusLine}`);
        return;
      }
      if (!store && url) {
        if (!/^mongodb(\+srv)?:\/\//.test(url)) throw new HistoryMongoUrlError(config.mongoUrlEnv);
        store = await MongoHistoryStore.connect(url, {
          database: config.database,
          timeoutMs: config.connectTimeoutMs,
          label: redactMongoUrl(url),
        });
      }
      statusLine = `projecting into ${store?.describe()}`;
      ctx.log.info({ durables: FEEDS.map((f) => durableOf(config, f)) }, `history: ${statusLine}`);
    },
    async stop() {
      const owned = store !== injected ? store : undefined;
      store = injected;
      await owned?.close();
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
  description: 'Projects conversations, tool calls, order intents, verdicts, orders and order events into MongoDB (idle without MONGO_URL)',
  configSchema: historyConfigSchema,
  create: createHistoryLogic,
  access: () => historyAccess(historyConfigSchema.parse({})),
});
