// The JSON Schema of the config file (config/gatehouse.schema.json, written by `npm run docs`): every key with its
// description and default, unknown keys refused at every level, and every shipped config valid against it.
// The validator below covers exactly the keywords the generated schema uses (asserted first).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../../src/config/json-schema.js';
import { CONFIG_KEYS } from '../../../src/config/keys.js';

interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: SchemaNode;
  items?: SchemaNode;
  required?: string[];
  anyOf?: SchemaNode[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
  description?: string;
}

const SCHEMA = configJsonSchema() as SchemaNode & Record<string, unknown>;
const CONFIG_DIR = fileURLToPath(new URL('../../../config/', import.meta.url));
const HANDLED = new Set([
  '$schema',
  'title',
  'description',
  'default',
  'type',
  'enum',
  'properties',
  'additionalProperties',
  'propertyNames',
  'items',
  'anyOf',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'format',
  'required',
]);

function keywords(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => keywords(item, out));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      out.add(key);
      if (key === 'properties') Object.values(value as object).forEach((child) => keywords(child, out));
      else if (key !== 'default' && key !== 'enum') keywords(value, out);
    }
  }
  return out;
}

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

/** Every way `value` breaks `node`, each naming the dotted key; [] when valid. */
function problems(value: unknown, node: SchemaNode, path: string): string[] {
  if (node.anyOf) return node.anyOf.some((option) => problems(value, option, path).length === 0) ? [] : [`${path}: matches no allowed form`];
  const types = node.type === undefined ? [] : [node.type].flat();
  if (types.length > 0 && !types.some((type) => isType(value, type))) return [`${path}: not ${types.join(' or ')}`];
  if (node.enum && !node.enum.includes(value)) return [`${path}: not one of ${node.enum.join(', ')}`];
  if (typeof value === 'string' && node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value)) return [`${path}: does not match ${node.pattern}`];
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) return [`${path}: below ${node.minimum}`];
    if (node.exclusiveMinimum !== undefined && value <= node.exclusiveMinimum) return [`${path}: not above ${node.exclusiveMinimum}`];
    if (node.maximum !== undefined && value > node.maximum) return [`${path}: above ${node.maximum}`];
  }
  if (Array.isArray(value) && node.items) return value.flatMap((item, i) => problems(item, node.items as SchemaNode, `${path}[${i}]`));
  const absent = isType(value, 'object') ? (node.required ?? []).filter((key) => !Object.hasOwn(value as object, key)) : [];
  if (absent.length > 0) return absent.map((key) => `${path ? `${path}.` : ''}${key}: required`);
  if (isType(value, 'object') && (node.properties || node.additionalProperties !== undefined)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
      const at = path ? `${path}.${key}` : key;
      const known = node.properties?.[key];
      if (known) return problems(child, known, at);
      if (node.additionalProperties === false) return [`${at}: unknown key`];
      return typeof node.additionalProperties === 'object' ? problems(child, node.additionalProperties, at) : [];
    });
  }
  return [];
}

function nodeAt(path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = SCHEMA;
  for (const key of path) node = node?.properties?.[key];
  return node;
}

/** The gatehouse configs shipped in config/: plain files, and the gatehouse.yaml of Kubernetes ConfigMaps anywhere below. */
function shippedConfigs(): Array<[string, unknown]> {
  const configs: Array<[string, unknown]> = [];
  const files = readdirSync(CONFIG_DIR, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  for (const name of files) {
    for (const doc of parseAllDocuments(readFileSync(`${CONFIG_DIR}${name}`, 'utf8'))) {
      const tree = doc.toJS() as Record<string, unknown> | null;
      if (tree === null || typeof tree !== 'object') continue;
      // a Kubernetes manifest (ingress, Traefik, Gateway API examples) is no gatehouse config; a ConfigMap may carry one
      if (!('apiVersion' in tree) && !('kind' in tree)) configs.push([name, tree]);
      const embedded = tree.kind === 'ConfigMap' ? (tree.data as Record<string, string> | undefined)?.['gatehouse.yaml'] : undefined;
      if (embedded !== undefined) configs.push([name, parse(embedded)]);
    }
  }
  return configs;
}

describe('config JSON Schema', () => {
  it('is draft-07 and uses only the keywords this test checks', () => {
    expect(SCHEMA.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(SCHEMA.title).toBe('gatehouse config');
    expect([...keywords(SCHEMA)].filter((keyword) => !HANDLED.has(keyword))).toEqual([]);
  });

  it('has every config key, with its description and (where it has one) its default', () => {
    expect(CONFIG_KEYS.length).toBeGreaterThan(50);
    for (const key of CONFIG_KEYS) {
      const node = nodeAt(key.path);
      expect(node, key.path.join('.')).toBeDefined();
      expect(node?.description, key.path.join('.')).toBe(key.description);
      if (key.defaultValue !== undefined) expect(node?.default, key.path.join('.')).toEqual(key.defaultValue);
    }
  });

  it('refuses unknown keys on every object with named keys', () => {
    const open: string[] = [];
    const visit = (node: SchemaNode, path: string): void => {
      if (node.properties) {
        if (node.additionalProperties !== false) open.push(path || '(root)');
        for (const [key, child] of Object.entries(node.properties)) visit(child, path ? `${path}.${key}` : key);
      }
      node.anyOf?.forEach((option) => visit(option, path));
      if (node.items) visit(node.items, `${path}[]`);
    };
    visit(SCHEMA, '');
    expect(open).toEqual([]);
  });

  it('accepts every config gatehouse ships (config/*.yaml and the Kubernetes ConfigMaps)', () => {
    const configs = shippedConfigs();
    expect(configs.map(([name]) => name)).toEqual(
      expect.arrayContaining(['gatehouse.yaml', 'demo.yaml', 'local.yaml', 'cloud.example.yaml', 'kubernetes/sidecar.yaml']),
    );
    for (const [name, tree] of configs) expect(problems(tree, SCHEMA, ''), name).toEqual([]);
  });

  it('names what an editor would flag: a misspelt key, a wrong choice, a wrong type', () => {
    const broken = {
      mode: 'clod',
      listen: { port: '8080' },
      sso: { client_scret: 'x', scopes: 'openid' },
      session: { ttl: true, store: 'memory' },
      roles: { map: { admins: ['admin'], users: 7 } },
      log: { access_user: 'yes' },
      local_login: { return_param: 'a b' },
    };
    expect(problems(broken, SCHEMA, '').sort()).toEqual(
      [
        'mode: not one of auto, cloud, local',
        'listen.port: not integer',
        'sso.client_scret: unknown key',
        'sso.scopes: not array',
        'session.ttl: not string or number',
        'roles.map.users: matches no allowed form',
        'log.access_user: not boolean',
        'local_login.return_param: does not match ^[A-Za-z0-9._~-]*$',
      ].sort(),
    );
  });
});
