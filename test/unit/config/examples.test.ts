// The example configs under config/ cannot drift: cloud.example.yaml names every schema key and loads; the
// Kubernetes manifests keep their safety properties; the forward-auth examples copy every identity header.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_KEYS } from '../../../src/config/keys.js';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { resolveMode } from '../../../src/config/schema.js';
import { generatedKeys } from '../../helpers/keys.js';

type Tree = Record<string, unknown>;

const CONFIG_DIR = fileURLToPath(new URL('../../../config/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SESSION_SECRET = 's'.repeat(40);
// PEM: the form the Kubernetes Secret holds (GATEHOUSE_IDENTITY_ASSERTION_KEYS splits a list on commas).
const ASSERTION_KEY = generatedKeys('ec', { namedCurve: 'P-256' }).privatePem.trim();

function read(name: string): string {
  return readFileSync(join(CONFIG_DIR, name), 'utf8');
}

function at(tree: unknown, path: readonly string[]): { found: boolean; value: unknown } {
  let node = tree;
  for (const segment of path) {
    if (!node || typeof node !== 'object' || Array.isArray(node) || !(segment in node)) return { found: false, value: undefined };
    node = (node as Tree)[segment];
  }
  return { found: true, value: node };
}

function documents(name: string): Tree[] {
  return parseAllDocuments(read(name)).map((doc) => {
    expect(doc.errors, name).toEqual([]);
    return doc.toJS() as Tree;
  });
}

function ofKind(docs: Tree[], kind: string): Tree[] {
  return docs.filter((doc) => doc.kind === kind);
}

const DEFAULT_IDENTITY_HEADERS = Object.values(validateConfig({ mode: 'local' }).identity.headers);

describe('config/cloud.example.yaml', () => {
  const tree = parse(read('cloud.example.yaml')) as Tree;

  it('names every key of the schema', () => {
    const missing = CONFIG_KEYS.filter((key) => !at(tree, key.path).found).map((key) => key.path.join('.'));
    expect(missing).toEqual([]);
  });

  it('loads as a valid cloud config once its ${ENV} secrets are set', () => {
    const { config } = loadConfig({
      path: join(CONFIG_DIR, 'cloud.example.yaml'),
      env: { GATEHOUSE_SSO_CLIENT_SECRET: 'client-secret', GATEHOUSE_SESSION_SECRETS: SESSION_SECRET, GATEHOUSE_IDENTITY_ASSERTION_KEYS: ASSERTION_KEY },
    });
    expect(resolveMode(config)).toBe('cloud');
    expect(config.session.secrets).toEqual([SESSION_SECRET]);
    expect(config.sso.scopes).toContain('offline_access');
  });

  it('shows the default of every key, except the ones a deployment must set', () => {
    const mustSet = new Set([
      'mode',
      'public_url',
      'sso.issuer',
      'sso.client_id',
      'sso.client_secret',
      'sso.scopes',
      'session.secrets',
      'identity.assertion.keys',
    ]);
    const defaults = validateConfig({ mode: 'local' });
    const example = loadConfig({
      path: join(CONFIG_DIR, 'cloud.example.yaml'),
      env: { GATEHOUSE_SSO_CLIENT_SECRET: 'client-secret', GATEHOUSE_SESSION_SECRETS: SESSION_SECRET, GATEHOUSE_IDENTITY_ASSERTION_KEYS: ASSERTION_KEY },
    }).config;
    const differing = CONFIG_KEYS.filter((key) => !mustSet.has(key.path.join('.')))
      .filter((key) => JSON.stringify(at(example, key.path).value) !== JSON.stringify(at(defaults, key.path).value))
      .map((key) => key.path.join('.'));
    expect(differing).toEqual([]);
  });
});

describe('config/kubernetes', () => {
  for (const [file, replicas, store] of [
    ['kubernetes/sidecar.yaml', 1, 'memory'],
    ['kubernetes/sidecar-redis.yaml', 3, 'redis'],
  ] as const) {
    describe(file, () => {
      const docs = documents(file);
      const deployment = ofKind(docs, 'Deployment').find((doc) => at(doc, ['metadata', 'name']).value === 'app') as Tree;
      const pod = at(deployment, ['spec', 'template', 'spec']).value as Tree;
      const initContainers = pod.initContainers as Tree[];
      const gatehouse = initContainers.find((c) => c.name === 'gatehouse') as Tree;
      const containers = pod.containers as Tree[];
      const portOf = (name: unknown): unknown => (gatehouse.ports as Tree[]).find((p) => p.name === name)?.containerPort ?? name;

      it(`runs ${replicas} replica(s) with gatehouse as a native sidecar (init container, restartPolicy Always)`, () => {
        expect(at(deployment, ['spec', 'replicas']).value).toBe(replicas);
        expect(gatehouse.restartPolicy).toBe('Always');
        expect(containers.map((c) => c.name)).toEqual(['app']);
        expect(containers[0]?.ports).toBeUndefined();
      });

      it('probes liveness on /healthz and readiness on /readyz of the ops port 9090', () => {
        expect(at(gatehouse, ['livenessProbe', 'httpGet']).value).toEqual({ path: '/healthz', port: 9090 });
        expect(at(gatehouse, ['readinessProbe', 'httpGet']).value).toEqual({ path: '/readyz', port: 9090 });
        expect(portOf('ops')).toBe(9090);
      });

      it("points the Service at gatehouse's port 8080 only", () => {
        const services = ofKind(docs, 'Service').filter((doc) => at(doc, ['metadata', 'name']).value === 'app');
        expect(services).toHaveLength(1);
        const targets = (at(services[0], ['spec', 'ports']).value as Tree[]).map((p) => portOf(p.targetPort));
        expect(targets).toEqual([8080]);
      });

      it("a NetworkPolicy admits traffic to the pod on gatehouse's ports only (8080, and 9090 for monitoring)", () => {
        const policies = ofKind(docs, 'NetworkPolicy');
        expect(policies).toHaveLength(1);
        const spec = at(policies[0], ['spec']).value as Tree;
        expect(at(spec, ['podSelector', 'matchLabels']).value).toEqual(at(deployment, ['spec', 'selector', 'matchLabels']).value);
        expect(spec.policyTypes).toEqual(['Ingress']);
        const ports = (spec.ingress as Tree[]).flatMap((rule) => (rule.ports as Tree[]).map((p) => p.port));
        expect(ports).toEqual([8080, 9090]);
      });

      it('runs non-root with a read-only root filesystem and an emptyDir on /tmp', () => {
        expect(at(pod, ['securityContext', 'runAsNonRoot']).value).toBe(true);
        for (const container of [gatehouse, ...containers]) {
          expect(at(container, ['securityContext', 'readOnlyRootFilesystem']).value, String(container.name)).toBe(true);
          expect((container.volumeMounts as Tree[]).find((m) => m.mountPath === '/tmp')?.name).toBe('tmp');
        }
        expect((pod.volumes as Tree[]).find((v) => v.name === 'tmp')?.emptyDir).toBeDefined();
      });

      it('reads every secret from files of the mounted Secret (GATEHOUSE_<KEY>_FILE), and its config loads with them', () => {
        const secret = ofKind(docs, 'Secret')[0] as Tree;
        const data = secret.stringData as Record<string, string>;
        // the mounted volume as the kubelet lays it out, under a temporary root: /etc/gatehouse/... -> <root>/etc/gatehouse/...
        const root = mkdtempSync(join(tmp, 'pod-'));
        const values: Record<string, string> = {
          'assertion-keys': `${ASSERTION_KEY}\n`,
          'session-secrets': `${SESSION_SECRET}\n`,
          'client-secret': 'client-secret',
          'redis-password': 'p/+=@:w0rd',
        };
        const configMap = ofKind(docs, 'ConfigMap')[0] as Tree;
        expect(gatehouse.args).toEqual(['start', '--config', '/etc/gatehouse/gatehouse.yaml']);
        mkdirSync(join(root, 'etc/gatehouse/secrets'), { recursive: true });
        writeFileSync(join(root, 'etc/gatehouse/gatehouse.yaml'), String(at(configMap, ['data', 'gatehouse.yaml']).value));
        const env: NodeJS.ProcessEnv = {};
        for (const entry of gatehouse.env as Tree[]) {
          expect(at(entry, ['valueFrom']).found, String(entry.name)).toBe(false);
          const file = String(entry.value);
          expect(file, String(entry.name)).toMatch(/^\/etc\/gatehouse\/secrets\/[a-z-]+$/);
          const key = file.split('/').pop() as string;
          expect(data[key], key).toBeDefined();
          writeFileSync(join(root, file), values[key] ?? 'secret-value');
          env[String(entry.name)] = join(root, file);
        }
        expect(Object.keys(env)).toEqual(
          expect.arrayContaining(['GATEHOUSE_SSO_CLIENT_SECRET_FILE', 'GATEHOUSE_SESSION_SECRETS_FILE', 'GATEHOUSE_IDENTITY_ASSERTION_KEYS_FILE']),
        );
        const { config } = loadConfig({ path: join(root, 'etc/gatehouse/gatehouse.yaml'), env });
        expect(resolveMode(config)).toBe('cloud');
        expect(config.session.store).toBe(store);
        expect(config.sso.client_secret).toBe('client-secret');
        expect(config.session.secrets).toEqual([SESSION_SECRET]);
        expect(config.identity.assertion.keys).toEqual([ASSERTION_KEY]);
        expect(config.session.redis.password).toBe(store === 'redis' ? 'p/+=@:w0rd' : '');
        expect(config.upstream.url).toBe('http://127.0.0.1:3000');
      });
    });
  }
});

describe('forward-auth examples', () => {
  it('ingress-nginx asks /.auth/verify and copies every identity header', () => {
    const ingress = ofKind(documents('ingress-nginx.example.yaml'), 'Ingress').find((doc) => at(doc, ['metadata', 'name']).value === 'app') as Tree;
    const annotations = at(ingress, ['metadata', 'annotations']).value as Record<string, string>;
    expect(new URL(annotations['nginx.ingress.kubernetes.io/auth-url'] ?? '').pathname).toBe('/.auth/verify');
    expect(annotations['nginx.ingress.kubernetes.io/auth-signin']).toMatch(/\/\.auth\/login\?rd=\$escaped_request_uri$/);
    expect(annotations['nginx.ingress.kubernetes.io/auth-response-headers']?.split(',')).toEqual(DEFAULT_IDENTITY_HEADERS);
  });

  it('Traefik forwardAuth asks /.auth/verify?redirect=1 and copies every identity header', () => {
    const middleware = ofKind(documents('traefik.example.yaml'), 'Middleware')[0] as Tree;
    const forwardAuth = at(middleware, ['spec', 'forwardAuth']).value as Tree;
    const address = new URL(String(forwardAuth.address));
    expect(address.pathname + address.search).toBe('/.auth/verify?redirect=1');
    expect(forwardAuth.trustForwardHeader).toBe(false);
    expect(forwardAuth.authResponseHeaders).toEqual(DEFAULT_IDENTITY_HEADERS);
  });
});
