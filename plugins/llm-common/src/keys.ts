import { readFile } from 'node:fs/promises';
import { LlmKeyMissingError, LlmSecretsFileError } from './errors.js';

/**
 * API keys come from the environment or a secrets file, never from plan or adapter config: config
 * is logged, cached by value and stored in the plans bucket, a key must be none of those.
 */
export interface ApiKeySource {
  provider: string;
  /** Environment variable holding the key (OPENAI_API_KEY, ANTHROPIC_API_KEY, DASHSCOPE_API_KEY). */
  envVar: string;
  /**
   * A file holding the key: either the key alone (a mounted Docker or Kubernetes secret), or
   * `NAME=value` lines (dotenv), or a JSON object, where `NAME` is `envVar`. Default: the
   * `KOKEX_SECRETS_FILE` environment variable, if set.
   */
  secretsFile?: string;
  /** Default: process.env. */
  env?: Record<string, string | undefined>;
}

/** Environment variable naming a secrets file shared by every provider. */
export const SECRETS_FILE_ENV = 'KOKEX_SECRETS_FILE';

/** The key from the environment, else from the secrets file; undefined when neither has one. */
export async function readApiKey(source: ApiKeySource): Promise<string | undefined> {
  const env = source.env ?? process.env;
  const fromEnv = env[source.envVar]?.trim();
  if (fromEnv) return fromEnv;
  const file = source.secretsFile ?? env[SECRETS_FILE_ENV];
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LlmSecretsFileError(source.provider, file, err);
  }
  return keyFromSecretsText(text, source.envVar);
}

/** Like `readApiKey`, but a missing key is an `LLM_KEY_MISSING` error naming where it looked. */
export async function requireApiKey(source: ApiKeySource): Promise<string> {
  const key = await readApiKey(source);
  if (key) return key;
  throw new LlmKeyMissingError(source.provider, source.envVar, source.secretsFile ?? (source.env ?? process.env)[SECRETS_FILE_ENV]);
}

/** Parses the three secrets file shapes; exported for tests. */
export function keyFromSecretsText(text: string, envVar: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  if (trimmed.startsWith('{')) {
    try {
      const value = (JSON.parse(trimmed) as Record<string, unknown>)[envVar];
      return typeof value === 'string' && value.trim() ? value.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
  const assignments = lines.filter((l) => /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/.test(l));
  if (assignments.length === 0) return lines.length === 1 ? lines[0]?.trim() : undefined;
  for (const line of assignments) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m?.[1] !== envVar) continue;
    const value = (m[2] ?? '').trim().replace(/^(['"])(.*)\1$/, '$2');
    return value || undefined;
  }
  return undefined;
}
