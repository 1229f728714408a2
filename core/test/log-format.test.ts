import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine, humanLogDestination } from '../src/index.js';

function capture(): { out: Writable; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { out, lines };
}

describe('human log lines', () => {
  it('prints one readable line per record: time, level, actor, message, cause; no JSON, no stack', () => {
    const { out, lines } = capture();
    const log = createLogger({ level: 'info', destination: humanLogDestination(out, false) }).child({ actor: 'feed', instance: 'feed-1' });
    const err = new Error('connect ECONNREFUSED 127.0.0.1:18080\n    at TCPConnectWrap.afterConnect');
    log.warn({ err }, 'simulator not up yet, retrying');
    log.info('subscribed');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d warn feed: simulator not up yet, retrying \(connect ECONNREFUSED 127\.0\.0\.1:18080 at TCPConnectWrap\.afterConnect\)$/,
    );
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d feed: subscribed$/);
    expect(lines.join('\n')).not.toContain('{');
  });

  it('keeps secrets redacted in the human form too, and shows the stack only when debugging', () => {
    const { out, lines } = capture();
    const log = createLogger({ level: 'info', destination: humanLogDestination(out, true) });
    log.error({ err: new Error('boom'), config: { apiKey: 'sk-live-123' } }, 'venue call failed');
    expect(lines[0]).toMatch(/error kokex: venue call failed \(boom\)$/);
    expect(lines.slice(1).join('\n')).toContain('at ');
    expect(lines.join('\n')).not.toContain('sk-live-123');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain text\n')).toBe('plain text');
  });
});

describe('decision texts on screen', () => {
  it('are cut at a word boundary with an ellipsis, never mid-word, and kept whole when they fit', async () => {
    const { clipWords } = await import('../src/cli/format.js');
    const text = 'Order intent buy 0.01 sent (P(up) 0.6875) as ag62ebee7800faa8; the risk guard decides.';
    expect(clipWords(text, 200)).toBe(text);
    const cut = clipWords(text, 40);
    expect(cut.length).toBeLessThanOrEqual(40);
    expect(cut.endsWith('…')).toBe(true);
    // Every word before the ellipsis is a whole word of the text.
    for (const word of cut.slice(0, -1).split(' ')) expect(text.split(' ')).toContain(word);
    expect(clipWords('one\n  two\tthree', 100)).toBe('one two three');
  });
});
