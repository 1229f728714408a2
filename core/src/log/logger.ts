import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * JSON logs with pino. Secrets are redacted by key at any depth (apiKey, secret, passphrase,
 * authorization, token, password and their spellings such as `api_key`, `OK-ACCESS-PASSPHRASE`,
 * `x-api-key`, `secretKey`), because a config object or an HTTP header map can be logged whole.
 */
export type { Logger } from 'pino';

export const REDACTED = '[redacted]';

const SECRET_KEYS = [
  'apikey',
  'secret',
  'secretkey',
  'passphrase',
  'authorization',
  'token',
  'accesstoken',
  'password',
  'xapikey',
  'okaccesskey',
  'okaccesssign',
  'okaccesspassphrase',
];

/** True for keys that name a secret; `maxTokens` or `tokenizer` are not secrets, `apiToken` is. */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z]/g, '');
  if (SECRET_KEYS.includes(k)) return true;
  return /(apikey|secret|passphrase|password|token)$/.test(k) && !/(max|num|count|total)tokens?$/.test(k);
}

/** Deep copy with secret-named values replaced; cycles and depth are bounded. */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 12 || seen.has(value)) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    return { type: value.name, message: value.message, stack: value.stack, ...(redactSecrets({ ...value }, depth + 1, seen) as object) };
  }
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1, seen));
  if (value instanceof Map) return redactSecrets(Object.fromEntries(value), depth + 1, seen);
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redactSecrets(v, depth + 1, seen);
  }
  return out;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL or 'info'. */
  level?: string;
  /** Default: 'kokex'. */
  name?: string;
  /** Default: stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
  /** Fields on every line. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'kokex',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { ...(options.base ?? {}) },
      formatters: {
        // Runs on the merged object of every call, so nested config and headers are covered.
        log: (obj) => redactSecrets(obj) as Record<string, unknown>,
        bindings: (b) => redactSecrets(b) as Record<string, unknown>,
      },
      serializers: { err: (e: unknown) => redactSecrets(e) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * One human line per log record, for terminals: `12:01:02 warn feed: simulator not up yet,
 * retrying (connect ECONNREFUSED 127.0.0.1:18080)`. No JSON and no stack (KOKEX_DEBUG=1 keeps the
 * stack); machines ask for `--log-format json` and get pino's lines unchanged.
 */
export function formatLogLine(line: string, debug = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trimEnd();
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 19) : '';
  const level = LEVEL_NAMES[Number(rec.level)] ?? String(rec.level ?? '');
  const who = [rec.actor ?? rec.kind, rec.plan].filter((x) => typeof x === 'string' && x).join(' ') || String(rec.name ?? 'kokex');
  const err = rec.err as { message?: string; stack?: string } | undefined;
  const msg = String(rec.msg ?? '');
  const cause = err?.message ? ` (${err.message.replace(/\s*\n\s*/g, ' ')})` : '';
  const head = `${time} ${level === 'info' ? '' : `${level} `}${who}: ${msg}${cause}`.replace(/\s+/g, ' ').trim();
  return debug && err?.stack ? `${head}\n${err.stack}` : head;
}

/** A pino destination writing `formatLogLine` lines to a stream (stderr by default). */
export function humanLogDestination(out: NodeJS.WritableStream = process.stderr, debug = Boolean(process.env.KOKEX_DEBUG)): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line.trim()) out.write(`${formatLogLine(line, debug)}\n`);
    },
  };
}

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
