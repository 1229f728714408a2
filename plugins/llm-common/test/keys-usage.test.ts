import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallbackManager } from '@langchain/core/callbacks/manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  costUsd,
  keyFromSecretsText,
  LLM_USAGE_EVENT,
  LlmErrorCode,
  priceFor,
  readApiKey,
  requireApiKey,
  SseParser,
  scrubSecrets,
  UsageMeter,
  usageCallback,
} from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kokex-llm-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('prefers the environment variable over the secrets file', async () => {
    const file = join(dir, 'both.env');
    await writeFile(file, 'OPENAI_API_KEY=from-file\n');
    expect(await readApiKey({ provider: 'openai', envVar: 'OPENAI_API_KEY', secretsFile: file, env: { OPENAI_API_KEY: 'from-env' } })).toBe(
      'from-env',
    );
    expect(await readApiKey({ provider: 'openai', envVar: 'OPENAI_API_KEY', secretsFile: file, env: {} })).toBe('from-file');
  });

  it('reads the three secrets file shapes', () => {
    expect(keyFromSecretsText('sk-alone\n', 'X_KEY')).toBe('sk-alone');
    expect(keyFromSecretsText('# keys\nexport A_KEY=a\nX_KEY="quoted"\n', 'X_KEY')).toBe('quoted');
    expect(keyFromSecretsText('{"X_KEY": "json"}', 'X_KEY')).toBe('json');
    expect(keyFromSecretsText('A_KEY=a\n', 'X_KEY')).toBeUndefined();
    expect(keyFromSecretsText('', 'X_KEY')).toBeUndefined();
  });

  it('finds the secrets file through KOKEX_SECRETS_FILE', async () => {
    const file = join(dir, 'shared.json');
    await writeFile(file, JSON.stringify({ ANTHROPIC_API_KEY: 'sk-ant-shared' }));
    expect(await readApiKey({ provider: 'anthropic', envVar: 'ANTHROPIC_API_KEY', env: { KOKEX_SECRETS_FILE: file } })).toBe(
      'sk-ant-shared',
    );
  });

  it('names where it looked when the key is missing, and nothing else', async () => {
    const file = join(dir, 'other.env');
    await writeFile(file, 'OTHER_KEY=sk-other-secret\n');
    const err = await requireApiKey({ provider: 'openai', envVar: 'OPENAI_API_KEY', secretsFile: file, env: {} }).catch((e) => e);
    expect(err.code).toBe(LlmErrorCode.KeyMissing);
    expect(err.message).toContain('OPENAI_API_KEY');
    expect(err.message).toContain(file);
    expect(err.message).not.toContain('sk-other-secret');
  });

  it('reports an unreadable secrets file by path and reason', async () => {
    const err = await readApiKey({ provider: 'openai', envVar: 'OPENAI_API_KEY', secretsFile: join(dir, 'missing'), env: {} }).catch(
      (e) => e,
    );
    expect(err.code).toBe(LlmErrorCode.SecretsFile);
    expect(err.message).toContain('ENOENT');
  });

  it('scrubs keys, key-shaped strings and bearer tokens from text', () => {
    const text = scrubSecrets('key my-own-key-1234, other sk-proj-ABCDEFGH, header Bearer xyz.123', ['my-own-key-1234']);
    expect(text).toBe('key [redacted], other [redacted], header Bearer [redacted]');
  });
});

describe('prices and usage', () => {
  const table = { 'gpt-4o': { input: 2.5, output: 10 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 } };

  it('prices a dated model id by its longest prefix', () => {
    expect(priceFor(table, 'gpt-4o-mini-2024-07-18')).toEqual(table['gpt-4o-mini']);
    expect(priceFor(table, 'gpt-4o-2024-08-06')).toEqual(table['gpt-4o']);
    expect(priceFor(table, 'llama3.1:8b')).toBeUndefined();
  });

  it('computes USD per million tokens, and 0 for an unpriced model', () => {
    expect(costUsd(table, 'gpt-4o', 1_000_000, 100_000)).toBe(3.5);
    expect(costUsd(table, 'gpt-4o-mini', 1200, 300)).toBeCloseTo(0.00036, 10);
    expect(costUsd(table, 'qwen2.5:7b', 1000, 1000)).toBe(0);
  });

  it('sums calls in the meter and tells its listeners', () => {
    const meter = new UsageMeter();
    const seen: number[] = [];
    const stop = meter.onUsage((u) => seen.push(u.inputTokens));
    meter.record({ provider: 'p', model: 'm', inputTokens: 10, outputTokens: 5, costUsd: 0.1 });
    stop();
    meter.record({ provider: 'p', model: 'm', inputTokens: 1, outputTokens: 2, costUsd: 0.2 });
    expect(meter.totals()).toEqual({ calls: 2, inputTokens: 11, outputTokens: 7, costUsd: 0.3 });
    expect(seen).toEqual([10]);
  });

  it('hands the kokex.llm.usage event of a run to a usage callback', async () => {
    const got: unknown[] = [];
    const manager = CallbackManager.configure([usageCallback((u) => got.push(u))]);
    const [run] = (await manager?.handleChatModelStart({ lc: 1, type: 'not_implemented', id: ['test'] }, [[]])) ?? [];
    const usage = { provider: 'p', model: 'm', inputTokens: 3, outputTokens: 4, costUsd: 0 };
    await run?.handleCustomEvent(LLM_USAGE_EVENT, usage);
    await run?.handleCustomEvent('other', usage);
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([usage]);
  });
});

describe('SseParser', () => {
  it('joins data lines, skips comments, honours CRLF and chunk boundaries', () => {
    const p = new SseParser();
    const enc = new TextEncoder();
    expect(p.push(enc.encode(': ping\r\nevent: delta\r\ndata: a\r\nda'))).toEqual([]);
    expect(p.pending).toBe(true);
    expect(p.push(enc.encode('ta: b\r\n\r\ndata:c\n\n'))).toEqual([
      { event: 'delta', data: 'a\nb' },
      { event: undefined, data: 'c' },
    ]);
    expect(p.pending).toBe(false);
  });
});
