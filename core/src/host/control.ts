import type { Service, ServiceMsg } from '@nats-io/services';
import { subjectPrefix } from '../bus/subjects.js';
import { toWireError } from '../errors.js';

/**
 * Control-plane replies. Every endpoint answers JSON: `{ok: true, ...}` or `{ok: false, error}` with
 * the error's wire form, and errors also go through `respondError` so `nats micro stats` counts them.
 * Subjects come from the subject builder (`control` and `actorRequest` families).
 */

/** The micro service group of one instance, `kokex.ctl.{kind}.{instance}`: its endpoints add their names. */
export function instanceControlGroup(kind: string, instance: string): string {
  return subjectPrefix('control', { kind, instance });
}

/** The micro service group of requests to any replica of a kind, `kokex.ctl.{kind}`. */
export function actorRequestGroup(kind: string): string {
  return subjectPrefix('actorRequest', { kind });
}

const encoder = new TextEncoder();

export type ControlHandler = (body: unknown) => Promise<Record<string, unknown>> | Record<string, unknown>;

export function addControlEndpoint(service: Service, group: string, name: string, handler: ControlHandler): void {
  service.addGroup(group).addEndpoint(name, {
    handler: (err: Error | null, msg: ServiceMsg) => {
      if (err) return;
      void (async () => {
        let body: unknown;
        try {
          body = msg.data.length ? JSON.parse(new TextDecoder().decode(msg.data)) : {};
        } catch {
          body = {};
        }
        try {
          const result = await handler(body);
          msg.respond(encoder.encode(JSON.stringify({ ok: true, ...result })));
        } catch (e) {
          const wire = toWireError(e);
          msg.respondError(wire.retryable ? 503 : 400, wire.message, encoder.encode(JSON.stringify({ ok: false, error: wire })));
        }
      })();
    },
    metadata: { kokex: 'control' },
  });
}
