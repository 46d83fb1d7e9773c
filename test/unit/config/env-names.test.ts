// One name per secret: every GATEHOUSE_* name and every ${VAR} in the docs (README.md, CONTRIBUTING.md, docs/**/*.md)
// and in every example under config/
// (Kubernetes manifests included) is a variable gatehouse reads, spelt as the schema derives it, and a
// ${GATEHOUSE_<KEY>} written as the value of a key is that key's own variable.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_ENV_NAMES, CONFIG_KEYS } from '../../../src/config/keys.js';

type Tree = Record<string, unknown>;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function filesEndingIn(dir: string, ending: RegExp): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return filesEndingIn(path, ending);
      return ending.test(name) ? [path] : [];
    });
}

const DOCS = [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'CONTRIBUTING.md'), ...filesEndingIn(join(REPO_ROOT, 'docs'), /\.md$/)];
const FILES = [...filesEndingIn(join(REPO_ROOT, 'config'), /\.ya?ml$/), ...DOCS];
/** The placeholders the docs use to explain ${...} itself. */
const PLACEHOLDERS = new Set(['NAME', 'ENV_NAME', 'ENV']);
const TOP_LEVEL_KEYS = new Set(CONFIG_KEYS.map((key) => key.path[0]));
const ENV_OF_KEY = new Map(CONFIG_KEYS.map((key) => [key.path.join('.'), key.env]));

/**
 * GATEHOUSE_ names, skipping patterns such as GATEHOUSE_SSO_* and GATEHOUSE_<KEY>_FILE, and a wrong name shown on
 * purpose in the error line it causes ("GATEHOUSE_X: unknown environment variable").
 */
function gatehouseNames(text: string): string[] {
  return [...text.matchAll(/GATEHOUSE_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*<])(?!: unknown environment variable)/g)].map((match) => match[0]);
}

function envReferences(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map((match) => match[1] as string);
}

/** The gatehouse configs inside a file: a config file itself, a ConfigMap's gatehouse.yaml, a markdown yaml block. */
function gatehouseConfigs(path: string, text: string): Tree[] {
  if (path.endsWith('.md')) {
    return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => {
        try {
          return parse(match[1] as string) as unknown;
        } catch {
          return undefined;
        }
      })
      .filter((tree): tree is Tree => isConfig(tree));
  }
  return parseAllDocuments(text).flatMap((doc) => {
    const tree = doc.toJS() as Tree | null;
    if (!tree || typeof tree !== 'object') return [];
    if (tree.kind === 'ConfigMap') {
      const embedded = (tree.data as Record<string, string> | undefined)?.['gatehouse.yaml'];
      return embedded === undefined ? [] : [parse(embedded) as Tree];
    }
    return isConfig(tree) ? [tree] : [];
  });
}

function isConfig(tree: unknown): tree is Tree {
  return (
    !!tree && typeof tree === 'object' && !Array.isArray(tree) && Object.keys(tree).length > 0 && Object.keys(tree).every((key) => TOP_LEVEL_KEYS.has(key))
  );
}

/** [key path, variable] for every value that is exactly ${GATEHOUSE_...}. */
function wholeValueReferences(node: unknown, path: string[] = []): Array<[string, string]> {
  if (typeof node === 'string') {
    const whole = /^\$\{(GATEHOUSE_[A-Z0-9_]+)(?::-[^}]*)?\}$/.exec(node);
    return whole ? [[path.filter((segment) => !/^\d+$/.test(segment)).join('.'), whole[1] as string]] : [];
  }
  if (Array.isArray(node)) return node.flatMap((item, i) => wholeValueReferences(item, [...path, String(i)]));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([key, value]) => wholeValueReferences(value, [...path, key]));
  return [];
}

describe('environment variable names in the docs and config/ examples', () => {
  it('reads the docs and every example, Kubernetes manifests included', () => {
    const names = FILES.map((path) => relative(REPO_ROOT, path));
    expect(names).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/configuration.md',
        'docs/operators/redis-and-replicas.md',
        'docs/providers/keycloak.md',
        'config/cloud.example.yaml',
        'config/gatehouse.yaml',
        'config/kubernetes/sidecar.yaml',
        'config/kubernetes/sidecar-redis.yaml',
      ]),
    );
  });

  for (const path of FILES) {
    const name = relative(REPO_ROOT, path);
    const text = readFileSync(path, 'utf8');

    it(`${name}: every GATEHOUSE_* name is a variable gatehouse reads`, () => {
      expect(gatehouseNames(text).filter((found) => !CONFIG_ENV_NAMES.has(found))).toEqual([]);
    });

    it(`${name}: every \${VAR} is a variable gatehouse reads (GATEHOUSE_<KEY> or its _FILE)`, () => {
      expect(envReferences(text).filter((found) => !PLACEHOLDERS.has(found) && !CONFIG_ENV_NAMES.has(found))).toEqual([]);
    });

    it(`${name}: a \${GATEHOUSE_...} value is the variable of its own key`, () => {
      const mismatched = gatehouseConfigs(path, text)
        .flatMap((tree) => wholeValueReferences(tree))
        .filter(([key, variable]) => ENV_OF_KEY.get(key) !== variable)
        .map(([key, variable]) => `${key}: \${${variable}} (expected \${${ENV_OF_KEY.get(key) ?? '?'}})`);
      expect(mismatched).toEqual([]);
    });
  }
});
