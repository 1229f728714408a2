#!/usr/bin/env node
// Creates (or updates) every KOKEX stream, KV bucket and object store on NATS_URL, then exits.
// Run it as a NATS user allowed to (the `admin` of `kokex deploy nats`) before restricted actor
// hosts start: they may not create streams. The plans Job and the compose `plans` service run it
// before `kokex plan apply`. Idempotent: a second run changes nothing.
// From the TypeScript sources (tsx and the `kokex-source` export condition), as the CLI in a checkout.
await import('@kokex/core/source');
const { connectBus } = await import('@kokex/core');
const bus = await connectBus({ name: 'kokex-provision', reconnect: false });
try {
  const results = await bus.provision();
  const changed = results.filter((r) => r.action !== 'unchanged');
  console.log(`provisioned ${bus.url}: ${results.length} streams/buckets (${changed.length} created or updated)`);
} finally {
  await bus.close();
}
