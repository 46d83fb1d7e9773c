// Every Kubernetes manifest under config/ checked against the API types, so an unknown or misplaced field, a
// wrong type or a missing required field fails here rather than at `kubectl apply` (or, worse, is silently
// dropped by the API server):
// - core objects against npm `kubernetes-types` 1.30 (the API types of Kubernetes 1.30, generated from its
//   OpenAPI), HTTPRoute against `@kubernetes-models/gateway-api` (generated from the Gateway API v1 CRDs),
//   Traefik's CRDs against `@kubernetes-models/traefik`: each object is type-checked by the TypeScript compiler as
//   an object literal of its type (excess-property checks reach every nested field); the CRD models' JSON-schema
//   validation (enums, patterns) runs as well;
// - what the types cannot see: a Service's named targetPort must resolve to a port of a regular container (a
//   name declared on an init container, native sidecars included, resolves only from Kubernetes 1.32); secrets
//   reach gatehouse as mounted files named by GATEHOUSE_<KEY>_FILE; the app stops after a preStop delay that the
//   grace period covers together with gatehouse's drain; ingress paths pass ingress-nginx's strict validation.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { IngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute';
import { Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_KEYS } from '../../../src/config/keys.js';
import { SECRET_KEYS } from '../../../src/config/schema.js';

type Tree = Record<string, unknown>;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MANIFESTS = [
  ...readdirSync(join(REPO_ROOT, 'config/kubernetes'))
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => `config/kubernetes/${name}`),
  'config/ingress-nginx.example.yaml',
  'config/traefik.example.yaml',
].sort();

/** The TypeScript type of each apiVersion/kind the manifests may use; anything else fails the test. */
const TYPES: Record<string, { module: string; type: string; validate?: (object: Tree) => void }> = {
  'v1/ConfigMap': { module: 'kubernetes-types/core/v1.js', type: 'ConfigMap' },
  'v1/Secret': { module: 'kubernetes-types/core/v1.js', type: 'Secret' },
  'v1/Service': { module: 'kubernetes-types/core/v1.js', type: 'Service' },
  'apps/v1/Deployment': { module: 'kubernetes-types/apps/v1.js', type: 'Deployment' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-types/policy/v1.js', type: 'PodDisruptionBudget' },
  'networking.k8s.io/v1/Ingress': { module: 'kubernetes-types/networking/v1.js', type: 'Ingress' },
  'networking.k8s.io/v1/NetworkPolicy': { module: 'kubernetes-types/networking/v1.js', type: 'NetworkPolicy' },
  'gateway.networking.k8s.io/v1/HTTPRoute': {
    module: '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute',
    type: 'IHTTPRoute',
    validate: (object) => new HTTPRoute(object as never).validate(),
  },
  'traefik.io/v1alpha1/Middleware': {
    module: '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware',
    type: 'IMiddleware',
    validate: (object) => new Middleware(object as never).validate(),
  },
  'traefik.io/v1alpha1/IngressRoute': {
    module: '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute',
    type: 'IIngressRoute',
    validate: (object) => new IngressRoute(object as never).validate(),
  },
};

interface Manifest {
  /** `file#index Kind/name`, for messages. */
  label: string;
  file: string;
  object: Tree;
}

function documents(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(REPO_ROOT, file), 'utf8')).flatMap((doc, i) => {
    expect(doc.errors, file).toEqual([]);
    const object = doc.toJS() as Tree | null;
    if (object === null) return [];
    const name = String((object.metadata as Tree | undefined)?.name);
    return [{ label: `${file}#${i} ${String(object.kind)}/${name}`, file, object }];
  });
}

const ALL = MANIFESTS.flatMap(documents);

function at(tree: unknown, path: readonly (string | number)[]): unknown {
  let node = tree;
  for (const segment of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Tree)[segment];
  }
  return node;
}

function kindKey(object: Tree): string {
  return `${String(object.apiVersion)}/${String(object.kind)}`;
}

const VIRTUAL_FILE = join(REPO_ROOT, 'test/unit/config/__kubernetes_manifests__.ts');

/**
 * Type-checks every manifest as `const m: <Type> = <object>` in one TypeScript program; returns the problems of
 * each label (the first line of each diagnostic), [] for a clean one.
 */
function typeCheck(manifests: readonly Manifest[]): Map<string, string[]> {
  const imports = new Map<string, Set<string>>();
  const lines: string[] = [];
  const ranges: Array<{ label: string; from: number; to: number }> = [];
  const problems = new Map<string, string[]>(manifests.map((m) => [m.label, []]));
  manifests.forEach((manifest, i) => {
    const type = TYPES[kindKey(manifest.object)];
    if (type === undefined) {
      problems.get(manifest.label)?.push(`no API type known for ${kindKey(manifest.object)}`);
      return;
    }
    if (!imports.has(type.module)) imports.set(type.module, new Set());
    imports.get(type.module)?.add(type.type);
    const alias = `${type.type}_${[...imports.keys()].indexOf(type.module)}`;
    const body = JSON.stringify(manifest.object, null, 2).split('\n');
    ranges.push({ label: manifest.label, from: lines.length, to: lines.length + body.length });
    lines.push(`export const m${i}: ${alias} = ${body[0]}`, ...body.slice(1));
    lines[lines.length - 1] += ';';
  });
  const header = [...imports.entries()].flatMap(([module, names], m) => [...names].map((name) => `import type { ${name} as ${name}_${m} } from '${module}';`));
  const source = [...header, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) =>
    fileName === VIRTUAL_FILE ? ts.createSourceFile(fileName, source, language) : getSourceFile(fileName, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => (fileName === VIRTUAL_FILE ? source : readFile(fileName));
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const file = program.getSourceFile(VIRTUAL_FILE);
  const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0] ?? '';
    const line = file && diagnostic.start !== undefined ? file.getLineAndCharacterOfPosition(diagnostic.start).line - header.length : -1;
    const owner = ranges.find((range) => line >= range.from && line < range.to);
    if (owner === undefined) throw new Error(`diagnostic outside every manifest (line ${line}): ${message}`);
    problems.get(owner.label)?.push(`${message} (at ${JSON.stringify(source.split('\n')[line + header.length]?.trim())})`);
  }
  return problems;
}

/** Pod templates of the workloads in `docs`, with their labels. */
function podTemplates(docs: readonly Manifest[]): Array<{ label: string; labels: Tree; pod: Tree }> {
  return docs
    .filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(String(m.object.kind)))
    .map((m) => ({
      label: m.label,
      labels: (at(m.object, ['spec', 'template', 'metadata', 'labels']) ?? {}) as Tree,
      pod: at(m.object, ['spec', 'template', 'spec']) as Tree,
    }));
}

function containersOf(pod: Tree, which: 'containers' | 'initContainers'): Tree[] {
  return (pod[which] ?? []) as Tree[];
}

/**
 * Each Service port's targetPort against the pods its selector picks in the same file: a name must be a port
 * of a regular container, a number must be declared by some container of the pod.
 */
function targetPortProblems(docs: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const service of docs.filter((m) => m.object.kind === 'Service')) {
    const spec = service.object.spec as Tree;
    if (spec.type === 'ExternalName') continue;
    const selector = (spec.selector ?? {}) as Tree;
    const pods = podTemplates(docs).filter(({ labels }) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    if (pods.length === 0) {
      problems.push(`${service.label}: its selector picks no pod template in this file`);
      continue;
    }
    for (const port of (spec.ports ?? []) as Tree[]) {
      const target = port.targetPort ?? port.port;
      for (const { label, pod } of pods) {
        const regular = containersOf(pod, 'containers').flatMap((c) => (c.ports ?? []) as Tree[]);
        const init = containersOf(pod, 'initContainers').flatMap((c) => (c.ports ?? []) as Tree[]);
        if (typeof target === 'string' && !regular.some((p) => p.name === target)) {
          const onInit = init.some((p) => p.name === target);
          problems.push(
            `${service.label}: targetPort "${target}" is no port of a regular container of ${label}` +
              (onInit ? ' (it is named on an init container: native sidecars resolve named ports only from Kubernetes 1.32; use the number)' : ''),
          );
        }
        if (typeof target === 'number' && ![...regular, ...init].some((p) => p.containerPort === target)) {
          problems.push(`${service.label}: targetPort ${target} is declared by no container of ${label}`);
        }
      }
    }
  }
  return problems;
}

/** ingress-nginx's strict path validation in its strictest release: letters, digits, `/`, `_` and `-` only. */
const NGINX_STRICT_PATH = /^\/[A-Za-z0-9/_-]*$/;

function ingressPathProblems(docs: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const ingress of docs.filter((m) => m.object.kind === 'Ingress')) {
    for (const rule of (at(ingress.object, ['spec', 'rules']) ?? []) as Tree[]) {
      for (const path of (at(rule, ['http', 'paths']) ?? []) as Tree[]) {
        if ((path.pathType === 'Prefix' || path.pathType === 'Exact') && !NGINX_STRICT_PATH.test(String(path.path))) {
          problems.push(
            `${ingress.label}: path ${JSON.stringify(path.path)} with pathType ${String(path.pathType)} is refused by ingress-nginx's strict path validation`,
          );
        }
      }
    }
  }
  return problems;
}

function gatehouseContainers(docs: readonly Manifest[]): Array<{ label: string; pod: Tree; container: Tree }> {
  return podTemplates(docs).flatMap(({ label, pod }) =>
    [...containersOf(pod, 'initContainers'), ...containersOf(pod, 'containers')]
      .filter((c) => String(c.image).includes('/gatehouse:'))
      .map((container) => ({ label, pod, container })),
  );
}

/** The GATEHOUSE_<KEY>_FILE names a secret key may use: derived from the schema like the loader does. */
const FILE_VARIABLES = new Set(CONFIG_KEYS.filter((key) => SECRET_KEYS.has(key.path.join('.'))).map((key) => `${key.env}_FILE`));

/** The keys of the Secret or ConfigMap `name` in `docs`. */
function keysOf(docs: readonly Manifest[], kind: string, name: unknown): string[] {
  const object = docs.find((m) => m.object.kind === (kind === 'secret' ? 'Secret' : 'ConfigMap') && at(m.object, ['metadata', 'name']) === name)?.object;
  return Object.keys({ ...((object?.data ?? {}) as Tree), ...((object?.stringData ?? {}) as Tree) });
}

/** Where a mounted file comes from: `secret:<name>/<key>`, `configMap:<name>/<key>`, or undefined. */
function mountedSource(docs: readonly Manifest[], pod: Tree, container: Tree, file: string): string | undefined {
  for (const mount of (container.volumeMounts ?? []) as Tree[]) {
    const base = String(mount.mountPath).replace(/\/$/, '');
    if (!file.startsWith(`${base}/`)) continue;
    const inside = file.slice(base.length + 1);
    const volume = ((pod.volumes ?? []) as Tree[]).find((v) => v.name === mount.name);
    const sources: Array<[string, Tree]> = [];
    if (volume?.secret) sources.push(['secret', { ...(volume.secret as Tree), name: (volume.secret as Tree).secretName }]);
    if (volume?.configMap) sources.push(['configMap', volume.configMap as Tree]);
    for (const source of (at(volume, ['projected', 'sources']) ?? []) as Tree[]) {
      if (source.secret) sources.push(['secret', source.secret as Tree]);
      if (source.configMap) sources.push(['configMap', source.configMap as Tree]);
    }
    for (const [kind, source] of sources) {
      const items = source.items as Tree[] | undefined;
      const item =
        items === undefined
          ? keysOf(docs, kind, source.name).includes(inside)
            ? { key: inside }
            : undefined
          : items.find((i) => posix.normalize(String(i.path)) === inside);
      if (item) return `${kind}:${String(source.name)}/${String(item.key)}`;
    }
  }
  return undefined;
}

describe('Kubernetes manifests under config/', () => {
  it('finds the manifests, the HTTPRoute example among them', () => {
    expect(MANIFESTS).toEqual(
      expect.arrayContaining(['config/kubernetes/sidecar.yaml', 'config/kubernetes/sidecar-redis.yaml', 'config/kubernetes/gateway-httproute.yaml']),
    );
    expect(ALL.filter((m) => m.object.kind === 'HTTPRoute').length).toBeGreaterThan(0);
  });

  // Broken copies, type-checked in the same program: the check has to find each of them.
  const deployment = ALL.find((m) => m.file === 'config/kubernetes/sidecar.yaml' && m.object.kind === 'Deployment') as Manifest;
  const route = ALL.find((m) => m.object.kind === 'HTTPRoute') as Manifest;
  const broken = (label: string, object: Tree, edit: (copy: Tree) => void): Manifest => {
    const copy = structuredClone(object);
    edit(copy);
    return { label: `broken: ${label}`, file: 'broken', object: copy };
  };
  const BROKEN: Array<[Manifest, RegExp]> = [
    [
      broken('preStop beside lifecycle instead of in it', deployment.object, (d) => {
        const app = at(d, ['spec', 'template', 'spec', 'containers', 0]) as Tree;
        app.preStop = app.lifecycle;
      }),
      /'"?preStop"?' does not exist in type 'Container'/,
    ],
    [
      broken('misspelled restartPolicy', deployment.object, (d) => {
        const sidecar = at(d, ['spec', 'template', 'spec', 'initContainers', 0]) as Tree;
        sidecar.restartPolicyy = sidecar.restartPolicy;
      }),
      /'"?restartPolicyy"?' does not exist in type 'Container'/,
    ],
    [
      broken('containerPort as a string', deployment.object, (d) => {
        (at(d, ['spec', 'template', 'spec', 'initContainers', 0, 'ports', 0]) as Tree).containerPort = '8080';
      }),
      /Type 'string' is not assignable to type 'number'/,
    ],
    [
      broken('Deployment without a selector', deployment.object, (d) => {
        delete (d.spec as Tree).selector;
      }),
      /Property 'selector' is missing/,
    ],
    [
      broken('backendRefs one level too high', route.object, (r) => {
        (r.spec as Tree).backendRefs = at(r, ['spec', 'rules', 0, 'backendRefs']);
      }),
      /'"?backendRefs"?' does not exist in type/,
    ],
  ];
  const problems = typeCheck([...ALL, ...BROKEN.map(([manifest]) => manifest)]);

  for (const manifest of ALL) {
    it(`${manifest.label} is a valid ${kindKey(manifest.object)}`, () => {
      expect(problems.get(manifest.label)).toEqual([]);
      const validate = TYPES[kindKey(manifest.object)]?.validate;
      if (validate) expect(() => validate(manifest.object)).not.toThrow();
    });
  }

  it('the type check finds an unknown, misplaced, misspelled, mistyped or missing field', () => {
    for (const [manifest, expected] of BROKEN) {
      expect(problems.get(manifest.label)?.join('\n'), manifest.label).toMatch(expected);
    }
  });

  it('the Gateway API schema validation refuses an Ingress pathType in an HTTPRoute', () => {
    const copy = structuredClone(route.object);
    (at(copy, ['spec', 'rules', 0, 'matches', 0, 'path']) as Tree).type = 'Prefix';
    expect(() => TYPES['gateway.networking.k8s.io/v1/HTTPRoute']?.validate?.(copy)).toThrow(/type/);
  });
});

describe('Kubernetes manifests: what the API types cannot check', () => {
  const byFile = new Map(MANIFESTS.map((file) => [file, ALL.filter((m) => m.file === file)]));

  it('every Service targetPort resolves to a port of the pods it selects (named: of a regular container)', () => {
    expect([...byFile.values()].flatMap(targetPortProblems)).toEqual([]);
  });

  it('a name declared on the native sidecar only, as the examples had it, fails (resolves only from 1.32)', () => {
    const docs = byFile.get('config/kubernetes/sidecar.yaml') ?? [];
    const old = docs.map((m) => (m.object.kind === 'Service' ? { ...m, object: structuredClone(m.object) } : m));
    const service = old.find((m) => m.object.kind === 'Service') as Manifest;
    (at(service.object, ['spec', 'ports', 0]) as Tree).targetPort = 'http';
    expect(targetPortProblems(old)).toEqual([
      `${service.label}: targetPort "http" is no port of a regular container of ${docs.find((m) => m.object.kind === 'Deployment')?.label} (it is named on an init container: native sidecars resolve named ports only from Kubernetes 1.32; use the number)`,
    ]);
  });

  it('no secret reaches a container as an environment variable', () => {
    const envSecrets = ALL.flatMap((m) =>
      podTemplates([m]).flatMap(({ pod }) =>
        [...containersOf(pod, 'initContainers'), ...containersOf(pod, 'containers')].flatMap((c) => [
          ...((c.env ?? []) as Tree[]).filter((e) => at(e, ['valueFrom', 'secretKeyRef'])).map((e) => `${m.label} ${String(c.name)}: env ${String(e.name)}`),
          ...((c.envFrom ?? []) as Tree[]).filter((e) => e.secretRef).map(() => `${m.label} ${String(c.name)}: envFrom secretRef`),
        ]),
      ),
    );
    expect(envSecrets).toEqual([]);
  });

  for (const file of ['config/kubernetes/sidecar.yaml', 'config/kubernetes/sidecar-redis.yaml']) {
    it(`${file}: gatehouse reads each secret from a mounted Secret key through GATEHOUSE_<KEY>_FILE`, () => {
      const docs = byFile.get(file) ?? [];
      const secret = docs.find((m) => m.object.kind === 'Secret')?.object as Tree;
      const secretKeys = Object.keys((secret.stringData ?? secret.data) as Tree);
      const [gatehouse] = gatehouseContainers(docs);
      expect(gatehouse).toBeDefined();
      const { pod, container } = gatehouse as { pod: Tree; container: Tree };
      const fileEnv = ((container.env ?? []) as Tree[]).filter((e) => String(e.name).endsWith('_FILE'));
      const wiring = fileEnv.map((e) => [String(e.name), mountedSource(docs, pod, container, String(e.value))]);
      // every _FILE variable is one the loader reads, and points at a key of the Secret in this file
      expect(wiring.filter(([name]) => !FILE_VARIABLES.has(name as string))).toEqual([]);
      for (const [name, source] of wiring) {
        expect(source, name).toMatch(new RegExp(`^secret:${String(at(secret, ['metadata', 'name']))}/`));
        expect(secretKeys, name).toContain(source?.split('/')[1]);
      }
      // and every key of the Secret is read by gatehouse (or by the minimal Redis of the same file)
      const read = new Set(wiring.map(([, source]) => source?.split('/')[1]));
      const redisReads = docs.some((m) => m.object.kind === 'Deployment' && JSON.stringify(m.object).includes('redis-password')) ? ['redis-password'] : [];
      expect(secretKeys.filter((key) => !read.has(key) && !redisReads.includes(key))).toEqual([]);
      // the config file itself comes from the ConfigMap, where --config says
      const configArg = (container.args as string[])[(container.args as string[]).indexOf('--config') + 1] as string;
      expect(mountedSource(docs, pod, container, configArg)).toBe(
        `configMap:${String(at(docs.find((m) => m.object.kind === 'ConfigMap')?.object, ['metadata', 'name']))}/gatehouse.yaml`,
      );
    });

    it(`${file}: the app stops after a preStop delay, and the grace period covers it and gatehouse's drain`, () => {
      const docs = byFile.get(file) ?? [];
      const configMap = docs.find((m) => m.object.kind === 'ConfigMap')?.object as Tree;
      const config = parse(String(at(configMap, ['data', 'gatehouse.yaml']))) as Tree;
      expect(at(config, ['shutdown', 'drain_timeout'])).toBeUndefined(); // the default: 10s
      const drainSeconds = 10;
      const { pod } = gatehouseContainers(docs)[0] as { pod: Tree };
      for (const app of containersOf(pod, 'containers')) {
        const preStop = at(app, ['lifecycle', 'preStop']) as Tree | undefined;
        const command = at(preStop, ['exec', 'command']) as string[] | undefined;
        const delay = command?.[0] === 'sleep' ? Number(command[1]) : Number(at(preStop, ['sleep', 'seconds']));
        expect(delay, String(app.name)).toBe(10);
        // the delay, the app's own shutdown (at least 5s here) and gatehouse's drain
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(delay + 5 + drainSeconds);
      }
      // gatehouse itself has no delay of its own: it is stopped only after the app has exited
      expect(at(gatehouseContainers(docs)[0]?.container, ['lifecycle', 'preStop'])).toBeUndefined();
    });
  }

  it("ingress paths pass ingress-nginx's strict path validation (no dot in a Prefix or Exact path)", () => {
    expect(ALL.flatMap((m) => ingressPathProblems([m]))).toEqual([]);
    const dotted = structuredClone(ALL.find((m) => m.object.kind === 'Ingress' && at(m.object, ['metadata', 'name']) === 'app-gatehouse-routes') as Manifest);
    expect(at(dotted.object, ['spec', 'rules', 0, 'http', 'paths', 0, 'path'])).toBe('/.auth/');
    (at(dotted.object, ['spec', 'rules', 0, 'http', 'paths', 0]) as Tree).pathType = 'Prefix';
    expect(ingressPathProblems([dotted])).toEqual([
      `${dotted.label}: path "/.auth/" with pathType Prefix is refused by ingress-nginx's strict path validation`,
    ]);
  });

  it('the HTTPRoute sends every path of the host to the sidecar Service port', () => {
    const service = ALL.find((m) => m.file === 'config/kubernetes/sidecar.yaml' && m.object.kind === 'Service') as Manifest;
    const servicePorts = (at(service.object, ['spec', 'ports']) as Tree[]).map((p) => p.port);
    const app = ALL.find((m) => m.object.kind === 'HTTPRoute' && at(m.object, ['metadata', 'name']) === 'app') as Manifest;
    const rules = at(app.object, ['spec', 'rules']) as Tree[];
    expect(rules.map((r) => at(r, ['matches', 0, 'path']))).toEqual([{ type: 'PathPrefix', value: '/' }]);
    for (const ref of rules.flatMap((r) => r.backendRefs as Tree[])) {
      expect(ref.name).toBe(at(service.object, ['metadata', 'name']));
      expect(servicePorts).toContain(ref.port);
    }
  });
});
