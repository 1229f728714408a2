import { actorRequestSubject, TrainerEndpoints } from '@kokex/core';

/**
 * The trainer's request/reply subjects, built by core's subject builder from the endpoint names
 * core declares (`TrainerEndpoints`, with the request and reply shapes in `@kokex/core`).
 */
export const TrainerSubjects = {
  train: actorRequestSubject('trainer', TrainerEndpoints.train),
  cancel: actorRequestSubject('trainer', TrainerEndpoints.cancel),
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A request body as an object; anything unparsable is an empty object (the handler then names the missing field). */
export function decodeBody(data: Uint8Array): Record<string, unknown> {
  try {
    const value = data.length ? (JSON.parse(decoder.decode(data)) as unknown) : {};
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
