import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedRuntime, type Runtime } from '../src/cli/runtime.js';
import { connectBus, createLogger, OrderVerdictContract, Streams, subject } from '../src/index.js';

/** `kokex up` with no NATS_URL: its embedded nats-server lets in only the users it generated. */
let home: string;
let runtime: Runtime | undefined;
const saved = { home: process.env.KOKEX_HOME, url: process.env.NATS_URL };

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'kokex-home-'));
  process.env.KOKEX_HOME = home;
  delete process.env.NATS_URL;
  runtime = await embeddedRuntime(createLogger({ level: 'error' }));
  await runtime.bus.provision();
});

afterAll(async () => {
  await runtime?.close();
  if (saved.home === undefined) delete process.env.KOKEX_HOME;
  else process.env.KOKEX_HOME = saved.home;
  if (saved.url !== undefined) process.env.NATS_URL = saved.url;
  await rm(home, { recursive: true, force: true });
});

describe('the embedded nats-server of kokex up', () => {
  it('refuses a local process without the generated credentials: it cannot store a forged verdict', async () => {
    const url = runtime?.embedded?.url as string;
    expect(url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    await expect(connect({ servers: url, reconnect: false, timeout: 2000 })).rejects.toThrow(/authorization/i);
    await expect(connect({ servers: url, user: 'admin', pass: 'guess', reconnect: false, timeout: 2000 })).rejects.toThrow(
      /authorization/i,
    );
    // A kokex command on the same home finds the credentials by the server's URL.
    const cli = await connectBus({ reconnect: false });
    const verdict = {
      plan: 'p',
      inst: 'BTC-USDT-SWAP',
      clientOrderId: 'emb1',
      decision: 'deny' as const,
      reason: 'X',
      rule: 'r',
      message: 'm',
    };
    const stored = await cli.publish(OrderVerdictContract, subject('orderVerdict', { plan: 'p', inst: 'BTC-USDT-SWAP' }), verdict);
    expect(stored.stream).toBe(Streams.orders);
    await cli.close();
  });

  it('keeps its configuration and users 0600, on 127.0.0.1, with no open user', async () => {
    for (const f of ['nats.conf', 'nats-users.json']) expect((await stat(join(home, f))).mode & 0o777, f).toBe(0o600);
    const conf = await readFile(join(home, 'nats.conf'), 'utf8');
    expect(conf).toMatch(/^host: "127\.0\.0\.1"$/m);
    expect(conf).toMatch(/authorization \{/);
    expect(conf).not.toMatch(/no_auth_user/);
  });
});
