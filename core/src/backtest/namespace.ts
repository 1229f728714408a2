import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Bus } from '../bus/bus.js';

/**
 * `kokex backtest --nats URL`: a run on a server a live plan may be using, in streams, KV buckets
 * and subjects of its own. Every actor names streams (`MD_CANDLES`), buckets (`kokex-plans`) and
 * subjects (`kokex.md.candle.…`) as core's topology fixes them, so the run's connection goes
 * through a local relay that rewrites the NATS protocol between the actors and the server: what
 * the actors see is the usual topology; what the server holds carries the run id.
 *
 * - subjects `kokex.…` and `$SRV.…` (micro services) ↔ `kxbt.{run}.kokex.…`, `kxbt.{run}.$SRV.…`;
 * - streams `X` ↔ `kxbt-{run}-X`; KV bucket `b` (stream `KV_b`, subjects `$KV.b.…`) ↔
 *   `kxbt-{run}-b` (`KV_kxbt-{run}-b`, `$KV.kxbt-{run}-b.…`); object stores the same (`OBJ_`, `$O.`);
 * - the JetStream API (`$JS.API.…`): stream names in its subjects, and in its request and reply
 *   bodies the stream names and subject filters; stream lists answer only the run's streams;
 * - acknowledgements (`$JS.ACK.{stream}.…`) and direct-get headers (`Nats-Stream`, `Nats-Subject`);
 * - a message on a KOKEX subject outside the run (a live plan's, seen through a `>` subscription)
 *   is not delivered to the run at all.
 *
 * Consumers live in the run's streams, so they carry the run id with them. Inboxes (`_INBOX.…`)
 * are unique per connection and pass unchanged; so do credentials (the relay forwards CONNECT and
 * the server's nonce as they are). TLS is not relayed.
 */
export interface RunNamespace {
  run: string;
  /** Head of every subject of the run: `kxbt.{run}.`. */
  subjectHead: string;
  /** Prefix of every stream and bucket name of the run: `kxbt-{run}-`. */
  namePrefix: string;
}

export function newRunNamespace(run = randomBytes(4).toString('hex')): RunNamespace {
  if (!/^[a-z0-9]+$/.test(run)) throw new Error(`a run id is lowercase letters and digits, got "${run}"`);
  return { run, subjectHead: `kxbt.${run}.`, namePrefix: `kxbt-${run}-` };
}

/** True when a stream (or KV / object store stream) belongs to the run. */
export function isRunStream(ns: RunNamespace, stream: string): boolean {
  return stream.startsWith(ns.namePrefix) || stream.startsWith(`KV_${ns.namePrefix}`) || stream.startsWith(`OBJ_${ns.namePrefix}`);
}

/** Deletes every stream of the run (its KV buckets and object stores are streams too); answers their names. */
export async function deleteRunStreams(bus: Bus, ns: RunNamespace): Promise<string[]> {
  const names: string[] = [];
  for await (const s of bus.jsm.streams.list()) if (isRunStream(ns, s.config.name)) names.push(s.config.name);
  for (const name of names) await bus.jsm.streams.delete(name);
  return names.sort();
}

type Json = Record<string, unknown>;

/** The name and subject mapping of one run (client view ↔ server view). */
export class NamespaceMap {
  constructor(readonly ns: RunNamespace) {}

  streamOut(name: string): string {
    const p = this.ns.namePrefix;
    if (isRunStream(this.ns, name)) return name;
    if (name.startsWith('KV_')) return `KV_${p}${name.slice(3)}`;
    if (name.startsWith('OBJ_')) return `OBJ_${p}${name.slice(4)}`;
    return `${p}${name}`;
  }

  /** The client's name of a server stream, or undefined when the stream is not the run's. */
  streamIn(name: string): string | undefined {
    const p = this.ns.namePrefix;
    if (name.startsWith(`KV_${p}`)) return `KV_${name.slice(3 + p.length)}`;
    if (name.startsWith(`OBJ_${p}`)) return `OBJ_${name.slice(4 + p.length)}`;
    if (name.startsWith(p)) return name.slice(p.length);
    return undefined;
  }

  subjectOut(s: string): string {
    if (s.startsWith('kokex.') || s.startsWith('$SRV.')) return `${this.ns.subjectHead}${s}`;
    if (s.startsWith('$KV.') || s.startsWith('$O.')) {
      const t = s.split('.');
      const bucket = t[1] ?? '';
      if (bucket === '*' || bucket === '>' || bucket.startsWith(this.ns.namePrefix)) return s;
      t[1] = `${this.ns.namePrefix}${bucket}`;
      return t.join('.');
    }
    if (s.startsWith('$JS.'))
      return this.#jsSubject(
        s,
        (n) => this.streamOut(n),
        (x) => this.subjectOut(x),
      );
    return s;
  }

  /** The client's subject of a server subject; undefined: a KOKEX subject outside the run (not delivered). */
  subjectIn(s: string): string | undefined {
    const head = this.ns.subjectHead;
    if (s.startsWith(head)) return s.slice(head.length);
    if (s.startsWith('kokex.') || s.startsWith('$SRV.') || s.startsWith('kxbt.')) return undefined;
    if (s.startsWith('$KV.') || s.startsWith('$O.')) {
      const t = s.split('.');
      const bucket = t[1] ?? '';
      if (!bucket.startsWith(this.ns.namePrefix)) return undefined;
      t[1] = bucket.slice(this.ns.namePrefix.length);
      return t.join('.');
    }
    if (s.startsWith('$JS.ACK.')) {
      const t = s.split('.');
      const i = t.length === 9 ? 2 : 4;
      const name = this.streamIn(t[i] ?? '');
      if (name === undefined) return undefined;
      t[i] = name;
      return t.join('.');
    }
    return s;
  }

  /** The stream token (and a subject tail) of a `$JS.API.…` or `$JS.ACK.…` subject, mapped. */
  #jsSubject(s: string, stream: (n: string) => string, subj: (x: string) => string): string {
    const t = s.split('.');
    if (t[1] === 'ACK' || t[1] === 'FC') {
      const i = t[1] === 'ACK' && t.length !== 9 ? 4 : 2;
      if (t[i] !== undefined) t[i] = stream(t[i] as string);
      return t.join('.');
    }
    if (t[1] !== 'API') return s;
    const i = apiStreamIndex(t);
    if (i === undefined || t[i] === undefined) return s;
    t[i] = stream(t[i] as string);
    // CONSUMER.CREATE.{stream}.{consumer}.{filter…} and DIRECT.GET.{stream}.{subject…}
    const tail = t[2] === 'CONSUMER' && t[3] === 'CREATE' ? 6 : t[2] === 'DIRECT' ? 5 : undefined;
    if (tail !== undefined && t.length > tail) return [...t.slice(0, tail), subj(t.slice(tail).join('.'))].join('.');
    return t.join('.');
  }

  /** A JetStream API request body, mapped to the server's names. */
  requestOut(apiSubject: string, body: Json): Json {
    const t = apiSubject.split('.');
    const out = (x: unknown) => (typeof x === 'string' ? this.subjectOut(x) : x);
    const outs = (x: unknown) => (Array.isArray(x) ? x.map(out) : x);
    if (t[2] === 'STREAM' && (t[3] === 'CREATE' || t[3] === 'UPDATE')) {
      if (typeof body.name === 'string') body.name = this.streamOut(body.name);
      if (body.subjects) body.subjects = outs(body.subjects);
    }
    if (typeof body.stream_name === 'string') body.stream_name = this.streamOut(body.stream_name);
    const config = body.config as Json | undefined;
    if (config && typeof config === 'object') {
      if (config.filter_subject) config.filter_subject = out(config.filter_subject);
      if (config.filter_subjects) config.filter_subjects = outs(config.filter_subjects);
    }
    for (const k of ['subjects_filter', 'subject', 'filter', 'last_by_subj', 'next_by_subj'])
      if (typeof body[k] === 'string') body[k] = out(body[k]);
    if (body.multi_last) body.multi_last = outs(body.multi_last);
    return body;
  }

  /** A JetStream API reply (or a publish acknowledgement), mapped to the client's names. */
  replyIn(body: Json): Json {
    const type = typeof body.type === 'string' ? body.type : '';
    if (type.endsWith('stream_names_response')) {
      const names = ((body.streams as string[] | null) ?? []).map((n) => this.streamIn(n)).filter((n): n is string => n !== undefined);
      return { ...body, streams: names, total: names.length, offset: 0 };
    }
    if (type.endsWith('stream_list_response')) {
      const infos = ((body.streams as Json[] | null) ?? []).filter(
        (s) => this.streamIn(String((s.config as Json | undefined)?.name ?? '')) !== undefined,
      );
      return { ...body, streams: infos.map((s) => this.#streamInfoIn(s)), total: infos.length, offset: 0 };
    }
    if (type.endsWith('consumer_list_response')) {
      return { ...body, consumers: ((body.consumers as Json[] | null) ?? []).map((c) => this.#consumerInfoIn(c)) };
    }
    if (typeof body.stream_name === 'string') return this.#consumerInfoIn(body);
    if (body.config && typeof body.config === 'object') return this.#streamInfoIn(body);
    const message = body.message as Json | undefined;
    if (message && typeof message.subject === 'string') message.subject = this.subjectIn(message.subject) ?? message.subject;
    if (typeof body.stream === 'string') body.stream = this.streamIn(body.stream) ?? body.stream;
    return body;
  }

  #in = (x: unknown) => (typeof x === 'string' ? (this.subjectIn(x) ?? x) : x);

  #streamInfoIn(info: Json): Json {
    const config = info.config as Json;
    if (typeof config.name === 'string') config.name = this.streamIn(config.name) ?? config.name;
    if (Array.isArray(config.subjects)) config.subjects = config.subjects.map(this.#in);
    const state = info.state as Json | undefined;
    const subjects = state?.subjects as Json | undefined;
    if (state && subjects && typeof subjects === 'object')
      state.subjects = Object.fromEntries(Object.entries(subjects).map(([k, v]) => [this.subjectIn(k) ?? k, v]));
    return info;
  }

  #consumerInfoIn(info: Json): Json {
    if (typeof info.stream_name === 'string') info.stream_name = this.streamIn(info.stream_name) ?? info.stream_name;
    const config = info.config as Json | undefined;
    if (config && typeof config === 'object') {
      if (config.filter_subject) config.filter_subject = this.#in(config.filter_subject);
      if (Array.isArray(config.filter_subjects)) config.filter_subjects = config.filter_subjects.map(this.#in);
    }
    return info;
  }
}

/** Where the stream name sits in a `$JS.API.…` subject's tokens (undefined: the request names none). */
function apiStreamIndex(t: string[]): number | undefined {
  if (t[2] === 'STREAM') {
    if (t[3] === 'NAMES' || t[3] === 'LIST' || t[3] === 'TEMPLATE') return undefined;
    return t[3] === 'MSG' || t[3] === 'LEADER' || t[3] === 'PEER' ? 5 : 4;
  }
  if (t[2] === 'CONSUMER') {
    if (t[3] === 'LEADER') return 6;
    return t[3] === 'DURABLE' || t[3] === 'MSG' ? 5 : 4;
  }
  if (t[2] === 'DIRECT') return 4;
  return undefined;
}

const CRLF = Buffer.from('\r\n');
const EMPTY: Buffer = Buffer.alloc(0);

/** Size of the payload that follows a protocol line (PUB, HPUB, MSG, HMSG), else undefined. */
function payloadSize(op: string, args: string[]): number | undefined {
  if (op === 'PUB' || op === 'MSG' || op === 'HPUB' || op === 'HMSG') return Number(args[args.length - 1]);
  return undefined;
}

/**
 * Reads NATS protocol operations off one socket and writes what `handle` makes of each to the
 * other. A payload is handed over whole (its size is on the line before it).
 */
function pump(src: Socket, dst: Socket, handle: (op: string, args: string[], line: string, payload: Buffer | undefined) => Buffer[]): void {
  let buf: Buffer = EMPTY;
  src.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let pos = 0;
    const out: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf(CRLF, pos);
      if (eol < 0) break;
      const line = buf.toString('latin1', pos, eol);
      const parts = line.split(/[ \t]+/).filter((x) => x.length > 0);
      const op = (parts[0] ?? '').toUpperCase();
      const args = parts.slice(1);
      const size = payloadSize(op, args);
      if (size === undefined) {
        out.push(...handle(op, args, line, undefined));
        pos = eol + 2;
        continue;
      }
      const end = eol + 2 + size + 2;
      if (buf.length < end) break;
      out.push(...handle(op, args, line, buf.subarray(eol + 2, eol + 2 + size)));
      pos = end;
    }
    buf = pos >= buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
    if (out.length) dst.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  });
}

const lineOf = (text: string) => Buffer.from(`${text}\r\n`, 'latin1');

function message(op: 'PUB' | 'MSG', head: string[], headers: Buffer | undefined, body: Buffer): Buffer[] {
  const h = headers ? `H${op}` : op;
  const sizes = headers ? `${headers.length} ${headers.length + body.length}` : `${body.length}`;
  return [lineOf(`${h} ${head.join(' ')} ${sizes}`), ...(headers ? [headers] : []), body, CRLF];
}

function parseJson(b: Buffer): Json | undefined {
  if (b.length === 0 || b[0] !== 0x7b) return undefined;
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Rewrites the named headers of a `NATS/1.0` header block. */
function mapHeaders(block: Buffer, map: Record<string, (v: string) => string>): Buffer {
  const text = block.toString('latin1');
  const lines = text.split('\r\n');
  let changed = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = map[line.slice(0, colon).trim()];
    if (!f) continue;
    const v = line.slice(colon + 1).trim();
    const next = f(v);
    if (next !== v) {
      lines[i] = `${line.slice(0, colon)}: ${next}`;
      changed = true;
    }
  }
  return changed ? Buffer.from(lines.join('\r\n'), 'latin1') : block;
}

/** Replies the relay waits for, by reply subject: JetStream API answers and publish acknowledgements. */
const MAX_WAITING = 10_000;

/**
 * The relay: a TCP listener on 127.0.0.1 whose every connection is one to `upstream`, with the
 * run's names mapped both ways. Connect the run's bus to `url`.
 */
export class NamespaceRelay {
  readonly map: NamespaceMap;
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  url = '';
  /** Messages on KOKEX subjects outside the run that the relay kept from the run's subscriptions. */
  dropped = 0;

  constructor(
    readonly ns: RunNamespace,
    private readonly upstream: { host: string; port: number },
  ) {
    this.map = new NamespaceMap(ns);
  }

  static fromUrl(ns: RunNamespace, url: string): NamespaceRelay {
    const u = new URL(url.includes('://') ? url : `nats://${url}`);
    if (u.protocol !== 'nats:') throw new Error(`kokex backtest --nats relays plain nats:// servers only, got ${url}`);
    return new NamespaceRelay(ns, { host: u.hostname || '127.0.0.1', port: Number(u.port || 4222) });
  }

  async start(): Promise<string> {
    const server = createServer((client) => this.#connection(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('the namespace relay has no port');
    this.url = `nats://127.0.0.1:${addr.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  #connection(client: Socket): void {
    const server = tcpConnect(this.upstream.port, this.upstream.host);
    for (const s of [client, server]) {
      this.#sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.#sockets.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    const m = this.map;
    /** Reply subject → what answers on it: a JetStream API reply ('api') or a publish acknowledgement ('ack'). */
    const waiting = new Map<string, 'api' | 'ack'>();
    const expect = (reply: string | undefined, kind: 'api' | 'ack') => {
      if (!reply) return;
      if (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value as string);
      waiting.set(reply, kind);
    };

    // Client → server: subjects, API request bodies, expected-stream headers.
    pump(client, server, (op, args, line, payload) => {
      if (op === 'SUB') {
        const [subj, ...rest] = args;
        return [lineOf(['SUB', m.subjectOut(subj ?? ''), ...rest].join(' '))];
      }
      if ((op === 'PUB' || op === 'HPUB') && payload) {
        const headered = op === 'HPUB';
        const [subj = '', ...rest] = args.slice(0, headered ? -2 : -1);
        const reply = rest[0];
        const hlen = headered ? Number(args[args.length - 2]) : 0;
        let headers = headered ? payload.subarray(0, hlen) : undefined;
        let body = headered ? payload.subarray(hlen) : payload;
        const mapped = m.subjectOut(subj);
        if (subj.startsWith('$JS.API.')) {
          const json = parseJson(body);
          if (json) body = Buffer.from(JSON.stringify(m.requestOut(subj, json)));
          // A pull request's answers are the messages themselves, not a JSON reply.
          if (!subj.startsWith('$JS.API.CONSUMER.MSG.NEXT.')) expect(reply, 'api');
        } else if (mapped !== subj) expect(reply, 'ack');
        if (headers?.includes('Nats-Expected-Stream'))
          headers = mapHeaders(headers, { 'Nats-Expected-Stream': (v) => m.streamOut(v) });
        return message('PUB', [mapped, ...rest], headers, body);
      }
      return [lineOf(line)];
    });

    // Server → client: subjects, ack subjects, API replies, direct-get headers; foreign KOKEX messages dropped.
    pump(server, client, (op, args, line, payload) => {
      if (op === 'INFO') {
        const info = parseJson(Buffer.from(line.slice(4).trim(), 'latin1'));
        if (!info) return [lineOf(line)];
        if (info.tls_required) {
          client.end(lineOf("-ERR 'kokex backtest --nats: the relay does not speak TLS'"));
          return [];
        }
        delete info.connect_urls;
        delete info.ws_connect_urls;
        return [lineOf(`INFO ${JSON.stringify(info)}`)];
      }
      if ((op === 'MSG' || op === 'HMSG') && payload) {
        const headered = op === 'HMSG';
        const [subj = '', sid = '', ...rest] = args.slice(0, headered ? -2 : -1);
        const reply = rest[0];
        const mapped = m.subjectIn(subj);
        if (mapped === undefined) {
          this.dropped++;
          return [];
        }
        const hlen = headered ? Number(args[args.length - 2]) : 0;
        let headers = headered ? payload.subarray(0, hlen) : undefined;
        let body = headered ? payload.subarray(hlen) : payload;
        const kind = waiting.get(subj);
        if (kind) {
          waiting.delete(subj);
          // An acknowledgement names the stream; anything else answering a request is left alone.
          if (kind === 'api' || body.includes(this.ns.namePrefix)) {
            const json = parseJson(body);
            if (json) body = Buffer.from(JSON.stringify(m.replyIn(json)));
          }
        }
        if (headers?.includes(this.ns.namePrefix))
          headers = mapHeaders(headers, {
            'Nats-Stream': (v) => m.streamIn(v) ?? v,
            'Nats-Subject': (v) => m.subjectIn(v) ?? v,
          });
        const replyIn = reply?.startsWith('$JS.ACK.') ? (m.subjectIn(reply) ?? reply) : reply;
        return message('MSG', [mapped, sid, ...(replyIn ? [replyIn] : [])], headers, body);
      }
      return [lineOf(line)];
    });
  }
}
