import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(__dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** Every actor kind the repository's plugin manifests offer. */
async function actorKinds(): Promise<string[]> {
  const kinds: string[] = [];
  for (const dir of ['actors', 'plugins']) {
    for (const name of await readdir(join(ROOT, dir))) {
      const pkg = JSON.parse(read(`${dir}/${name}/package.json`)) as { kokex?: { actors?: string[] } };
      kinds.push(...(pkg.kokex?.actors ?? []));
    }
  }
  return kinds.sort();
}

/** The Dockerfile's stages: name → its lines (continuations joined). */
function stages(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = [line];
      out.set(from[1] ?? `(final ${out.size})`, current);
    } else if (line.trim() && !line.startsWith('#')) current?.push(line);
  }
  return out;
}

describe('the container image', () => {
  it('builds in a clean directory the way the Dockerfile does and the host answers /healthz (deploy/docker/check.sh)', () => {
    const run = spawnSync('bash', [join(ROOT, 'deploy/docker/check.sh')], { encoding: 'utf8', timeout: 240_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(0);
    expect(run.stdout).toMatch(/check\.sh: \/healthz \{.*"state":"running".*"ok":true\}/);
    expect(run.stdout).toMatch(/check\.sh: plans job: provisioned .* plan demo: (created|updated|unchanged)/);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('check.sh: ok');
  }, 300_000);

  it('is multi-stage: a build, a slim non-root Node 20 runtime running kokex host, a separate trainer with torch', () => {
    const s = stages(read('deploy/docker/Dockerfile'));
    expect([...s.keys()].slice(0, 3)).toEqual(['build', 'runtime', 'trainer']);
    const runtime = (s.get('runtime') ?? []).join('\n');
    expect(read('deploy/docker/Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:20-[a-z]+-slim$/m);
    expect(runtime).toMatch(/^COPY --from=build /m);
    expect(runtime).not.toMatch(/python|torch|npm install/);
    // The non-root user is set before the entrypoint, and the entrypoint is `kokex host`.
    expect(runtime.indexOf('USER node')).toBeGreaterThan(-1);
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.indexOf('ENTRYPOINT'));
    expect(runtime).toContain('ENTRYPOINT ["node", "core/bin/kokex.mjs", "host"]');
    expect((s.get('build') ?? []).join('\n')).toMatch(/^RUN npm install --omit=dev /m);
    const trainer = (s.get('trainer') ?? []).join('\n');
    expect(trainer).toMatch(/python3-torch/);
    expect(trainer).toMatch(/"--actors", "trainer"/);
  });

  it('keeps dependencies, stores, data and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['**/node_modules', '**/.git', '**/.kokex', '**/.env', 'deploy/nats', '**/dist']) expect(ignored).toContain(p);
  });

  it('compose runs one host per actor kind of the repository, on NATS with JetStream and MongoDB', async () => {
    const compose = parse(read('deploy/docker/docker-compose.yml'), { merge: true }) as {
      services: Record<string, { command?: string[]; image?: string; network_mode?: string; environment?: Record<string, string> }>;
    };
    const services = compose.services;
    expect(services.nats?.command).toEqual(expect.arrayContaining(['-js']));
    expect(services.mongo?.image).toMatch(/^mongo:/);
    const served = Object.values(services)
      .map((s) => s.command)
      .filter((c): c is string[] => Array.isArray(c) && c[0] === '--actors')
      .map((c) => c[1]);
    expect([...served].sort()).toEqual(await actorKinds());
    // Services sharing one network namespace need metrics ports of their own.
    const byNamespace = new Map<string, string[]>();
    for (const [name, s] of Object.entries(services)) {
      if (!s.environment?.KOKEX_METRICS_PORT) continue;
      const ns = s.network_mode?.replace(/^service:/, '') ?? name;
      if (s.network_mode) expect(services[ns], `${name} shares ${ns}`).toBeDefined();
      byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), s.environment.KOKEX_METRICS_PORT]);
    }
    for (const [ns, ports] of byNamespace) expect(new Set(ports).size, `metrics ports in ${ns}: ${ports}`).toBe(ports.length);
  });
});
