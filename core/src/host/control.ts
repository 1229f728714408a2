import type { Service, ServiceMsg } from '@nats-io/services';
import { toWireError } from '../errors.js';

/**
 * Control-plane replies. Every endpoint answers JSON: `{ok: true, ...}` or `{ok: false, error}` with
 * the error's wire form, and errors also go through `respondError` so `nats micro stats` counts them.
 */
export function controlSubject(...tokens: string[]): string {
  return ['kokex', 'ctl', ...tokens].join('.');
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
