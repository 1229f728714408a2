import type { StreamProtocol } from '@kokex/llm-common';

/** Anthropic's error types and the HTTP statuses they come with outside a stream. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The Messages stream: named events (`message_start`, `content_block_*`, `message_delta`, `ping`)
 * ended by `message_stop`; an `error` event (overloaded mid-stream) carries the error type.
 */
export const anthropicStreamProtocol: StreamProtocol = {
  classify(event, json) {
    const data = json as { type?: string; error?: { type?: string; message?: string } } | null;
    const type = event.event ?? data?.type;
    if (type === 'message_stop') return 'end';
    if (type === 'error') {
      const errorType = data?.error?.type ?? 'api_error';
      return { status: ERROR_STATUS[errorType] ?? 500, message: data?.error?.message ?? errorType };
    }
    return 'data';
  },
};
