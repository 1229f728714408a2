import { AgentTokenContract, type AgentTrigger, AgentTurnContract, type AgentTurnInput, type Bus, type Clock, subject } from '@kokex/core';
import { AgentPublishError } from './errors.js';

type RecordBody = AgentTurnInput extends infer T
  ? T extends unknown
    ? Omit<T, 'plan' | 'conversation' | 'trigger' | 'seq'>
    : never
  : never;

/**
 * Writes one conversation's audit trail to `kokex.agent.turn.{plan}` (stream AGENT), one record per
 * message, in order, and streams its tokens to
 * `kokex.agent.token.{plan}.{conversation}` on core NATS. Message ids are
 * `agent:{conversation}:{part}:{seq}`, so a re-run after a redelivery stores nothing twice within
 * the stream's de-duplication window.
 */
export class ConversationRecorder {
  #seq = 0;
  /** Records sent and not yet acknowledged by the stream (each publish leaves in call order on one connection). */
  #unacked: Promise<void>[] = [];
  #failed: AgentPublishError | undefined;
  #tokenSeq = 0;
  readonly #tokenSubject: string;
  readonly #turnSubject: string;

  constructor(
    private readonly bus: Bus,
    private readonly clock: Clock,
    readonly head: { plan: string; conversation: string; trigger: AgentTrigger; part: number },
    /** `eventTime`: the conversation's market time (its trigger's), on every record and token. */
    private readonly meta: { correlationId: string; causationId: string; source: string; eventTime: number },
  ) {
    this.#tokenSubject = subject('agentToken', { plan: head.plan, conversation: head.conversation });
    this.#turnSubject = subject('agentTurn', { plan: head.plan });
  }

  /**
   * Sends one record without waiting for the stream's acknowledgement (a conversation's records
   * are stored in the order sent; `flush` waits for all of them). A record that failed stops the
   * conversation at its next record, as an awaited publish did, one round trip later.
   */
  async record(body: RecordBody): Promise<void> {
    if (this.#failed) throw this.#failed;
    const seq = this.#seq++;
    const data = {
      ...body,
      plan: this.head.plan,
      conversation: this.head.conversation,
      trigger: this.head.trigger,
      part: this.head.part,
      seq,
    } as AgentTurnInput;
    const sent = this.bus
      .publish(AgentTurnContract, this.#turnSubject, data, {
        id: `agent:${this.head.conversation}:${this.head.part}:${seq}`,
        correlationId: this.meta.correlationId,
        causationId: this.meta.causationId,
        source: this.meta.source,
        eventTime: this.meta.eventTime,
        time: this.clock.now(),
      })
      .then(
        () => undefined,
        (err: unknown) => {
          this.#failed ??= new AgentPublishError(`turn record ${body.record} of ${this.head.conversation}`, err);
        },
      );
    this.#unacked.push(sent);
  }

  /** Waits until every record sent is stored; throws the first failure. */
  async flush(): Promise<void> {
    const unacked = this.#unacked.splice(0);
    await Promise.all(unacked);
    if (this.#failed) throw this.#failed;
  }

  /** Streamed text; lost when nobody listens, which is fine: the turn records keep the whole answer. */
  token(kind: 'text' | 'tool' | 'end', text: string): void {
    if (this.bus.nc.isClosed()) return;
    this.bus.emit(
      AgentTokenContract,
      this.#tokenSubject,
      { plan: this.head.plan, conversation: this.head.conversation, seq: this.#tokenSeq++, kind, text },
      { correlationId: this.meta.correlationId, source: this.meta.source, eventTime: this.meta.eventTime, time: this.clock.now() },
    );
  }
}
