/**
 * A small incremental Server-Sent Events parser (the WHATWG event-stream rules: `data:` lines
 * joined by newlines, `event:` names the type, `:` lines are comments, a blank line dispatches).
 * The provider fetch uses it to watch a stream as it passes to the SDK, so that a malformed event,
 * an error event or a missing end marker becomes a typed error instead of a silent partial answer.
 */
export interface SseEvent {
  /** The `event:` field; undefined for the default `message` type. */
  event: string | undefined;
  data: string;
}

export class SseParser {
  #buffer = '';
  #event: string | undefined;
  #data: string[] = [];
  #decoder = new TextDecoder();

  /** Feeds bytes; returns the events completed by them. */
  push(bytes: Uint8Array): SseEvent[] {
    this.#buffer += this.#decoder.decode(bytes, { stream: true });
    return this.#drain();
  }

  /** True when bytes of an unfinished event are still held (the stream stopped mid-event). */
  get pending(): boolean {
    return this.#buffer.trim().length > 0 || this.#data.length > 0;
  }

  #drain(): SseEvent[] {
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer);
      if (!m) break;
      // A lone '\r' at the very end may be the first half of '\r\n': wait for the next bytes.
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      const event = this.#line(line);
      if (event) out.push(event);
    }
    return out;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.#data.length === 0) {
        this.#event = undefined;
        return undefined;
      }
      const event = { event: this.#event, data: this.#data.join('\n') };
      this.#event = undefined;
      this.#data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    return undefined;
  }
}
