import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentActor } from '@kokex/actor-agent';
import { inferencerActor } from '@kokex/actor-inferencer';
import { validatorActor } from '@kokex/actor-validator';
import { type ActorKind, accessOf, type Plan, parsePlan } from '@kokex/core';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/**
 * Every manifest under deploy/k8s, validated against the Kubernetes and KEDA schemas
 * (kubernetes-models, @kubernetes-models/keda): the base's files as written, and the base and each
 * overlay as `kubectl kustomize` renders them, with the NATS users `kokex deploy nats` writes for
 * the overlay's plans. The KEDA triggers must name the durables the actors really declare.
 */
const ROOT = resolve(__dirname, '../..');
const K8S = join(ROOT, 'deploy/k8s');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: unknown }; [k: string]: unknown };
type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace as Model,
  'v1/ConfigMap': ConfigMap as Model,
  'v1/Secret': Secret as Model,
  'v1/Service': Service as Model,
  'apps/v1/Deployment': Deployment as Model,
  'apps/v1/StatefulSet': StatefulSet as Model,
  'batch/v1/Job': Job as Model,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as Model,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as Model,
};
const SCALED: Record<string, ActorKind<unknown>> = {
  inferencer: inferencerActor as ActorKind<unknown>,
  agent: agentActor as ActorKind<unknown>,
  validator: validatorActor as ActorKind<unknown>,
};

/** Constructs the model class for the document's kind and validates it; an unknown kind fails. */
function validate(doc: Manifest, where: string): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) throw new Error(`${where}: ${doc.apiVersion} ${doc.kind} ${doc.metadata?.name}: no schema for this kind`);
  try {
    new Model(doc as never).validate();
  } catch (err) {
    throw new Error(`${where}: ${doc.kind} ${doc.metadata?.name}: ${(err as Error).message}`);
  }
}

function docsOf(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`${where}: ${d.errors[0]?.message}`);
    return d.toJS() as Manifest;
  });
}

function render(dir: string): Manifest[] {
  const docs = docsOf(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }), dir);
  // kustomize wraps a long Secret value over several lines of one plain scalar, which a YAML
  // parser folds with spaces; the base64 itself is the text without them.
  for (const d of docs) {
    const data = (d as { data?: Record<string, string> }).data;
    if (d.kind === 'Secret' && data) for (const k of Object.keys(data)) data[k] = (data[k] ?? '').replace(/\s+/g, '');
  }
  return docs;
}

const find = (docs: Manifest[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
const spec = (d: Manifest | undefined): any => (d as any)?.spec;

let tmp: string;
const rendered = new Map<string, Manifest[]>();
const plansOf = new Map<string, Plan[]>();

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kokex-k8s-'));
  cpSync(K8S, join(tmp, 'k8s'), { recursive: true });
  rendered.set('base', render(join(tmp, 'k8s/base')));
  plansOf.set('base', [parsePlan(readFileSync(join(ROOT, 'plans/demo.yaml'), 'utf8'), 'plans/demo.yaml')]);
  for (const overlay of readdirSync(join(K8S, 'overlays'))) {
    const dir = join(tmp, 'k8s/overlays', overlay);
    const planFiles = readdirSync(join(dir, 'plans')).map((f) => join(dir, 'plans', f));
    // The users and passwords as an operator makes them, into the folder the overlay reads.
    execFileSync('node', [join(ROOT, 'core/bin/kokex.mjs'), 'deploy', 'nats', ...planFiles, '--out', join(dir, 'nats')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const docs = render(dir);
    rendered.set(overlay, docs);
    // The plans the cluster will apply are the ones in the rendered ConfigMap.
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('kokex-plans-')) as unknown as {
      data: Record<string, string>;
    };
    plansOf.set(
      overlay,
      Object.entries(cm.data).map(([file, text]) => parsePlan(text, file)),
    );
  }
}, 120_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Kubernetes manifests', () => {
  it(`kubectl kustomize is Debian's kubernetes-client (${execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).split('\n')[0]})`, () => {
    expect(execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' })).toMatch(/Kustomize Version: v5\./);
  });

  it('the schemas refuse a broken manifest and an unknown kind (the validation below can fail)', () => {
    const broken = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replicas: 'two', selector: {}, template: {} },
    };
    expect(() => validate(broken, 'test')).toThrow(/replicas must be integer/);
    expect(() => validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, 'test')).toThrow(/no schema for this kind/);
  });

  it('every document of every file in the base validates (patches are validated once applied)', () => {
    const kustomization = parseYaml(readFileSync(join(K8S, 'base/kustomization.yaml'), 'utf8')) as {
      resources: string[];
      patches: Array<{ path?: string }>;
    };
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(join(K8S, 'base', dir), { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml') files.push(join(dir, e.name));
      }
    };
    walk('');
    const patches = kustomization.patches.map((p) => p.path).filter(Boolean);
    // Every file is either a resource or a patch: nothing lies around unused.
    expect(files.sort()).toEqual([...kustomization.resources, ...(patches as string[])].sort());
    for (const file of kustomization.resources) {
      for (const doc of docsOf(readFileSync(join(K8S, 'base', file), 'utf8'), file)) validate(doc, `base/${file}`);
    }
  });

  it('the base and each overlay render, and every rendered document validates', () => {
    expect([...rendered.keys()].sort()).toEqual(['base', 'dev', 'prod']);
    for (const [name, docs] of rendered) {
      expect(docs.length).toBeGreaterThan(20);
      for (const doc of docs) validate(doc, name);
    }
  });

  it('runs one Deployment per actor kind with probes on the health endpoint, scrape annotations, a PDB and its own NATS user', () => {
    const kinds = readdirSync(join(ROOT, 'actors')).flatMap(
      (d) =>
        (JSON.parse(readFileSync(join(ROOT, 'actors', d, 'package.json'), 'utf8')) as { kokex?: { actors?: string[] } }).kokex?.actors ??
        [],
    );
    for (const [name, docs] of rendered) {
      const deployments = docs.filter((d) => d.kind === 'Deployment');
      // The trainer runs as a Job (trainer-job.yaml); every other kind has its Deployment.
      expect(deployments.map((d) => d.metadata.name).sort(), name).toEqual(kinds.filter((k) => k !== 'trainer').sort());
      const users = docs.find((d) => d.kind === 'Secret' && d.metadata.name.startsWith('kokex-nats-users-')) as unknown as
        | { metadata: { name: string }; data: Record<string, string> }
        | undefined;
      if (name !== 'base') expect(users, `${name}: NATS users Secret`).toBeDefined();
      for (const d of deployments) {
        const pod = spec(d).template;
        const c = pod.spec.containers[0];
        expect(c.args, d.metadata.name).toEqual(['--actors', d.metadata.name, '--quiet']);
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
        expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
        expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, d.metadata.name).toBeTruthy();
        expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
        expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
        const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
        expect(env.KOKEX_METRICS_BIND.value).toBe('0.0.0.0');
        expect(env.NATS_USER.value).toBe(d.metadata.name);
        const ref = env.NATS_PASSWORD.valueFrom.secretKeyRef;
        if (users) {
          // The key the pod reads is one `kokex deploy nats` wrote for this kind.
          expect(ref.name).toBe(users.metadata.name);
          expect(Object.keys(users.data), d.metadata.name).toContain(ref.key);
        }
        const pdb = docs.find((p) => p.kind === 'PodDisruptionBudget' && p.metadata.name === d.metadata.name);
        expect(spec(pdb)?.selector.matchLabels, `${name}: PDB of ${d.metadata.name}`).toEqual(spec(d).selector.matchLabels);
      }
    }
  });

  it('scales inferencer, agent and validator with KEDA on the durables the actors declare for the overlay’s plans', () => {
    for (const [name, docs] of rendered) {
      const plans = plansOf.get(name) ?? [];
      const scaled = docs.filter((d) => d.kind === 'ScaledObject');
      expect(scaled.map((s) => spec(s).scaleTargetRef.name).sort(), name).toEqual(['agent', 'inferencer', 'validator']);
      for (const so of scaled) {
        const target = spec(so).scaleTargetRef.name as string;
        expect(find(docs, 'Deployment', target), `${name}: ${target}`).toBeDefined();
        const kind = SCALED[target] as ActorKind<unknown>;
        const declared = accessOf(kind, plans)
          .consume.map((c) => `${c.stream}/${c.durable}`)
          .sort();
        const triggers = spec(so).triggers as Array<{ type: string; metadata: Record<string, string> }>;
        for (const t of triggers) {
          expect(t.type).toBe('nats-jetstream');
          expect(t.metadata.natsServerMonitoringEndpoint).toBe('nats-headless.kokex.svc.cluster.local:8222');
          expect(Number(t.metadata.lagThreshold)).toBeGreaterThan(0);
        }
        expect(triggers.map((t) => `${t.metadata.stream}/${t.metadata.consumer}`).sort(), `${name}: ${target}`).toEqual(declared);
      }
      // The guard and the executor keep a fixed count.
      for (const fixed of ['risk-guard', 'executor']) expect(spec(find(docs, 'Deployment', fixed)).replicas, `${name}: ${fixed}`).toBe(2);
    }
  });

  it('runs NATS as a JetStream cluster of 3 with PVCs, routes and the users from kokex deploy nats', () => {
    for (const [name, docs] of rendered) {
      const sts = spec(find(docs, 'StatefulSet', 'nats'));
      expect(sts.replicas).toBe(3);
      expect(sts.serviceName).toBe('nats-headless');
      expect(sts.volumeClaimTemplates[0].metadata.name).toBe('data');
      const conf = (find(docs, 'ConfigMap', 'nats-config') as unknown as { data: Record<string, string> }).data['nats.conf'] ?? '';
      for (const i of [0, 1, 2]) expect(conf).toContain(`nats://nats-${i}.nats-headless:6222`);
      expect(conf).toMatch(/jetstream \{\s+store_dir: \/data/);
      expect(conf).toContain('include ./auth/nats.conf');
      const authVolume = sts.template.spec.volumes.find((v: { name: string }) => v.name === 'auth');
      if (name === 'base') continue;
      const auth = docs.find((d) => d.kind === 'Secret' && d.metadata.name.startsWith('kokex-nats-auth-')) as unknown as {
        metadata: { name: string };
        data: Record<string, string>;
      };
      expect(authVolume.secret.secretName).toBe(auth.metadata.name);
      const text = Buffer.from(auth.data['nats.conf'] ?? '', 'base64').toString('utf8');
      expect(text).toMatch(/user: "executor".*kokex\.order\.event/s);
      expect(text).toMatch(/user: "risk-guard"/);
    }
  });

  it('applies the plans with a Job, runs the trainer as a GPU Job template, and gives the inferencer a GPU outside dev', () => {
    for (const [name, docs] of rendered) {
      const plans = spec(find(docs, 'Job', 'kokex-plans')).template.spec;
      expect(plans.containers[0].command.join(' ')).toMatch(
        /provision\.mjs && node core\/bin\/kokex\.mjs plan apply \/etc\/kokex\/plans\/\*\.yaml/,
      );
      const planVolume = plans.volumes.find((v: { name: string }) => v.name === 'plans');
      if (name !== 'base') expect(planVolume.configMap.name).toMatch(/^kokex-plans-/);
      const train = spec(find(docs, 'Job', 'kokex-train'));
      expect(train.suspend).toBe(true);
      expect(train.template.spec.initContainers[0]).toMatchObject({ restartPolicy: 'Always', args: ['--actors', 'trainer', '--quiet'] });
      const inferencer = spec(find(docs, 'Deployment', 'inferencer')).template.spec;
      const gpu = inferencer.containers[0].resources.limits['nvidia.com/gpu'];
      if (name === 'dev') {
        expect(gpu).toBeUndefined();
        expect(inferencer.nodeSelector).toBeUndefined();
      } else {
        expect(gpu).toBe(1);
        expect(inferencer.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
        expect(inferencer.tolerations).toContainEqual({ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' });
      }
    }
  });

  it('gives the executor the exchange keys and the agent the LLM keys file, both from Secrets', () => {
    for (const docs of rendered.values()) {
      const executor = spec(find(docs, 'Deployment', 'executor')).template.spec.containers[0];
      expect(executor.envFrom).toContainEqual({ secretRef: { name: 'kokex-exchange-keys', optional: true } });
      const agent = spec(find(docs, 'Deployment', 'agent')).template.spec;
      const file = agent.containers[0].env.find((e: { name: string }) => e.name === 'KOKEX_SECRETS_FILE').value as string;
      const mount = agent.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'llm-keys');
      expect(file.startsWith(`${mount.mountPath}/`)).toBe(true);
      expect(agent.volumes.find((v: { name: string }) => v.name === 'llm-keys').secret.secretName).toBe('kokex-llm-keys');
    }
  });
});
