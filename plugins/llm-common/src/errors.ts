import { KokexError } from '@kokex/core';

/**
 * Stable error codes of every LLM provider plugin. A provider call fails with one of these and
 * nothing else, so the agent decides on `code` and `retryable`, never on a provider's message text
 * (which differs between OpenAI, Anthropic, DashScope and the OpenAI-compatible servers).
 */
export const LlmErrorCode = {
  /** No API key in the environment variable or the secrets file, and the provider needs one. */
  KeyMissing: 'LLM_KEY_MISSING',
  /** The secrets file named in config cannot be read. */
  SecretsFile: 'LLM_SECRETS_FILE',
  /** 401 or 403: the key is wrong, revoked, or lacks access to the model. */
  Auth: 'LLM_AUTH',
  /** 429 after every retry. */
  RateLimited: 'LLM_RATE_LIMITED',
  /** 5xx (or an overloaded event inside a stream) after every retry. */
  Server: 'LLM_SERVER',
  /** Another 4xx: bad request, unknown model, context too long. Sending it again changes nothing. */
  RequestRejected: 'LLM_REQUEST_REJECTED',
  /** No response headers within `timeoutMs`, or no stream data within `idleTimeoutMs`. */
  Timeout: 'LLM_TIMEOUT',
  /** The connection failed before any answer (refused, reset, DNS). */
  Transport: 'LLM_TRANSPORT',
  /** The stream ended or broke before the provider's end marker. */
  StreamBroken: 'LLM_STREAM_BROKEN',
  /** A body or stream event that is not the provider's protocol (not JSON, wrong shape). */
  MalformedResponse: 'LLM_MALFORMED_RESPONSE',
  /** The caller aborted the call (the agent's trigger was cancelled or timed out). */
  Aborted: 'LLM_ABORTED',
  /** A provider failure none of the above describes; the message says what the client reported. */
  Provider: 'LLM_PROVIDER',
} as const;
export type LlmErrorCode = (typeof LlmErrorCode)[keyof typeof LlmErrorCode];

/** What every LLM error carries in `data`: which provider and model, and the HTTP status when there was one. */
export interface LlmErrorData {
  provider: string;
  model?: string;
  status?: number;
  /** Attempts made, retries included. */
  attempts?: number;
  [key: string]: unknown;
}

/** Base of every LLM provider error; a KokexError so it crosses the bus unchanged. */
export class LlmError extends KokexError {
  declare readonly data: LlmErrorData;

  constructor(code: LlmErrorCode, message: string, data: LlmErrorData, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, { retryable: options.retryable ?? false, data, cause: options.cause });
  }
}

export class LlmKeyMissingError extends LlmError {
  constructor(provider: string, envVar: string, secretsFile: string | undefined) {
    const where = secretsFile ? `${envVar} is not set and ${secretsFile} has no ${envVar}` : `${envVar} is not set`;
    super(
      LlmErrorCode.KeyMissing,
      `${provider}: no API key: ${where} (set it in the environment, or name a secrets file with "secretsFile")`,
      { provider, envVar },
    );
  }
}

export class LlmSecretsFileError extends LlmError {
  constructor(provider: string, path: string, cause: unknown) {
    // The file's contents never reach the message: only its path and the system's reason.
    const reason = cause instanceof Error && 'code' in cause ? String((cause as NodeJS.ErrnoException).code) : 'unreadable';
    super(LlmErrorCode.SecretsFile, `${provider}: cannot read secrets file ${path} (${reason})`, { provider, path }, { cause });
  }
}

export class LlmAuthError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.Auth, message, data);
  }
}

export class LlmRateLimitedError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.RateLimited, message, data, { retryable: true });
  }
}

export class LlmServerError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.Server, message, data, { retryable: true });
  }
}

export class LlmRequestRejectedError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.RequestRejected, message, data);
  }
}

export class LlmTimeoutError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.Timeout, message, data, { retryable: true });
  }
}

export class LlmTransportError extends LlmError {
  constructor(message: string, data: LlmErrorData, cause?: unknown) {
    super(LlmErrorCode.Transport, message, data, { retryable: true, cause });
  }
}

export class LlmStreamBrokenError extends LlmError {
  constructor(message: string, data: LlmErrorData, cause?: unknown) {
    super(LlmErrorCode.StreamBroken, message, data, { retryable: true, cause });
  }
}

export class LlmMalformedResponseError extends LlmError {
  constructor(message: string, data: LlmErrorData) {
    super(LlmErrorCode.MalformedResponse, message, data);
  }
}

export class LlmAbortedError extends LlmError {
  constructor(data: LlmErrorData) {
    super(LlmErrorCode.Aborted, `${data.provider}: the call was aborted by the caller`, data);
  }
}

export class LlmProviderError extends LlmError {
  constructor(message: string, data: LlmErrorData, cause?: unknown) {
    super(LlmErrorCode.Provider, message, data, { cause });
  }
}

/**
 * Removes every secret from text that came from elsewhere (a server's error body, a client's
 * message), so a server that echoes the key back cannot put it in our logs.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  // Bearer tokens and common key shapes, in case a server echoes a key we do not hold (a proxy's).
  return out.replace(/\b(sk-(?:ant-)?[A-Za-z0-9_-]{6,})/g, '[redacted]').replace(/(Bearer\s+)[^\s"']+/gi, '$1[redacted]');
}
