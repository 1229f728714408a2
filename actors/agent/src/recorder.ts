import { type AgentTrigger, type Bus, type Clock, subject } from '@kokex/core';
import { AgentTokenContract, type AgentTurnInput, AgentTurnContract } from '@kokex/core';
import { AgentPublishError } from './errors.js';

type RecordBody = AgentTurnInput extends infer T
  ? T extends unknown
    ? Omit<T, 'plan' | 'conversation' | 'trigger' | 'seq'>
    : never
  : never;

/**
 * Writes one conversation's audit trail to `kokex.agent.turn.{plan}` (stream AGENT), one record per
 * message, in order (each publish is awaited), and streams its tokens to
 * `kokex.agent.token.{plan}.{conversation}` on core NATS. Message ids are
 * `agent:{conversation}:{part}:{seq}`, so a re-run after a redelivery stores nothing twice within
 * the stream's de-duplication window.
 */
export class ConversationRecorder {
  #seq = 0;
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

  async record(body: RecordBody): Promise<void> {
    const seq = this.#seq++;
    const data = {
      ...body,
      plan: this.head.plan,
      conversation: this.head.conversation,
      trigger: this.head.trigger,
      part: this.head.part,
      seq,
    } as AgentTurnInput;
    try {
      await this.bus.publish(AgentTurnContract, this.#turnSubject, data, {
        id: `agent:${this.head.conversation}:${this.head.part}:${seq}`,
        correlationId: this.meta.correlationId,
        causationId: this.meta.causationId,
        source: this.meta.source,
        eventTime: this.meta.eventTime,
        time: this.clock.now(),
      });
    } catch (err) {
      throw new AgentPublishError(`turn record ${body.record} of ${this.head.conversation}`, err);
    }
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
