// Loading: read the YAML file, substitute ${ENV}, apply GATEHOUSE_* overrides, validate against the schema.
// `start`, `check-config` and SIGHUP all load through loadConfig, so they refuse the same configs with the same lines.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { closestEnvName, CONFIG_ENV_NAMES, CONFIG_KEYS, type ConfigKey } from './keys.js';
import { maskUrlCredentials } from './checks.js';
import { configSchema, resolveMode, SECRET_KEYS, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/gatehouse.yaml';

export interface LoadOptions {
  /** Explicit --config path; a missing explicit file is an error, a missing default file is not. */
  path?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  source: string;
  /** Why the mode in force is what it is, e.g. "mode auto is local: no sso.* key and no GATEHOUSE_SSO_* variable is set". */
  modeReason: string;
}

type Tree = Record<string, unknown>;

const CLOUD_REQUIRED = 'required in cloud mode';

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const path = options.path ?? DEFAULT_CONFIG_PATH;
  const problems: string[] = [];
  const tree = readTree(path, options.path !== undefined, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const referenced = new Set<string>();
  const unset: Array<{ path: string[]; name: string }> = [];
  substituteEnv(tree, [], env, referenced, unset);
  problems.push(...unknownVariables(env, referenced));
  const fromEnv = applyEnvOverrides(tree, env, problems);
  // An unset ${NAME} does not matter where GATEHOUSE_<KEY> (or _FILE) replaces the whole value anyway.
  for (const { path: at, name } of unset) {
    const dotted = at.join('.');
    const overridden = [...fromEnv.keys()].some((key) => dotted === key || dotted.startsWith(`${key}.`));
    if (!overridden) problems.push(`${dotted}: environment variable ${name} is not set`);
  }
  try {
    const checked = checkTree(tree, fromEnv);
    if (problems.length === 0) return { ...checked, source: path };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  throw new ConfigError(problems);
}

/** Validates an already-parsed tree; throws ConfigError with one line per problem. */
export function validateConfig(tree: unknown): Config {
  return checkTree(tree, new Map()).config;
}

/**
 * `mode: auto` (or no mode) is cloud as soon as any sso.* key is present, from the file or a GATEHOUSE_SSO_*
 * variable: a partial or mistyped SSO config then fails the cloud checks instead of passing every request through.
 */
function checkTree(tree: unknown, fromEnv: ReadonlyMap<string, string>): { config: Config; modeReason: string } {
  let input = tree;
  let modeReason: string | undefined;
  const root = tree && typeof tree === 'object' && !Array.isArray(tree) ? (tree as Tree) : undefined;
  if (root && (root.mode === undefined || root.mode === 'auto')) {
    const sso = root.sso && typeof root.sso === 'object' && !Array.isArray(root.sso) ? Object.keys(root.sso) : [];
    if (sso.length > 0) {
      const named = sso.map((key) => `sso.${key} is set${fromEnv.has(`sso.${key}`) ? ` by ${fromEnv.get(`sso.${key}`)}` : ''}`);
      modeReason = `mode auto is cloud: ${named.join(', ')}`;
      input = { ...root, mode: 'cloud' };
    }
  }
  const result = configSchema.safeParse(input);
  if (result.success) {
    const mode = resolveMode(result.data);
    modeReason ??=
      result.data.mode !== 'auto'
        ? `mode is ${mode}`
        : mode === 'cloud'
          ? 'mode auto is cloud: sso.issuer and sso.client_id are set'
          : 'mode auto is local: no sso.* key and no GATEHOUSE_SSO_* variable is set';
    return { config: result.data, modeReason };
  }
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${[...at, key].join('.')}: unknown key`);
    } else {
      const message = modeReason && issue.message.startsWith(CLOUD_REQUIRED) ? withReason(issue.message, modeReason) : issue.message;
      problems.push(`${at.join('.') || '(root)'}: ${message}`);
    }
  }
  throw new ConfigError(problems);
}

/** "required in cloud mode (…)" with why auto chose cloud inside the parentheses. */
function withReason(message: string, reason: string): string {
  const rest = message.slice(CLOUD_REQUIRED.length);
  return rest.startsWith(' (') ? `${CLOUD_REQUIRED} (${reason}; ${rest.slice(2)}` : `${CLOUD_REQUIRED} (${reason})${rest}`;
}

/**
 * A GATEHOUSE_* variable that is neither a config key (nor its _FILE form) nor named by ${...} in the file is a
 * mistake, most often a typo that would otherwise be ignored: one line each, with the closest real name.
 */
function unknownVariables(env: NodeJS.ProcessEnv, referenced: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('GATEHOUSE_') || CONFIG_ENV_NAMES.has(name) || referenced.has(name) || env[name] === undefined) continue;
    const closest = closestEnvName(name);
    const key = closest === undefined ? undefined : CONFIG_ENV_NAMES.get(closest);
    problems.push(`${name}: unknown environment variable${closest && key ? `; did you mean ${closest} (${key.path.join('.')})?` : ''}`);
  }
  return problems;
}

function readTree(path: string, explicit: boolean, problems: string[]): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (!explicit && code === 'ENOENT') return {};
    problems.push(`${path}: cannot read the config file (${code})`);
    return {};
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const error of doc.errors) {
    const pos = error.linePos?.[0];
    const where = pos ? `${path}:${pos.line}:${pos.col}` : path;
    problems.push(`${where}: YAML syntax error: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  if (problems.length > 0) return {};
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${path}: the top level must be a mapping of keys`);
    return {};
  }
  return value as Tree;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${NAME} and ${NAME:-fallback} inside string values (after parsing, so values cannot inject YAML). Every
 * name goes to `referenced`; an unset one without fallback goes to `unset` (an error unless the key is overridden).
 */
function substituteEnv(
  node: unknown,
  path: string[],
  env: NodeJS.ProcessEnv,
  referenced: Set<string>,
  unset: Array<{ path: string[]; name: string }>,
): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
      referenced.add(name);
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      unset.push({ path, name });
      return '';
    });
  }
  if (Array.isArray(node)) {
    node.forEach((item, i) => (node[i] = substituteEnv(item, [...path, String(i)], env, referenced, unset)));
    return node;
  }
  if (node && typeof node === 'object') {
    const tree = node as Tree;
    for (const key of Object.keys(tree)) tree[key] = substituteEnv(tree[key], [...path, key], env, referenced, unset);
  }
  return node;
}

/** Applies GATEHOUSE_<KEY> and GATEHOUSE_<KEY>_FILE; returns the keys set this way (dotted path → variable). */
function applyEnvOverrides(tree: Tree, env: NodeJS.ProcessEnv, problems: string[]): Map<string, string> {
  const applied = new Map<string, string>();
  for (const key of CONFIG_KEYS) {
    const fileVar = key.fileEnv;
    const file = fileVar === undefined ? undefined : env[fileVar];
    if (file !== undefined) {
      if (env[key.env] !== undefined) {
        problems.push(`${key.path.join('.')}: set ${key.env} or ${fileVar}, not both`);
        continue;
      }
      const value = readValueFile(key, file, `${fileVar}=${file}`, problems);
      if (value !== undefined) setPath(tree, key.path, value);
      applied.set(key.path.join('.'), fileVar as string);
      continue;
    }
    const raw = env[key.env];
    if (raw === undefined) continue;
    const value = parseEnvValue(key, raw);
    if (value === undefined) {
      problems.push(`${key.path.join('.')}: ${key.env}=${isSecret(key) ? '***' : JSON.stringify(raw)} is not a valid ${key.kind}`);
      continue;
    }
    setPath(tree, key.path, value);
    applied.set(key.path.join('.'), key.env);
  }
  return applied;
}

/**
 * A value from a file: the text without its trailing newline; for a list, a JSON array, each PEM block, one
 * JSON object (a JWK), or one item per non-empty line.
 */
function readValueFile(key: ConfigKey, file: string, source: string, problems: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${key.path.join('.')}: cannot read ${source} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (key.kind !== 'list') return text.replace(/[\r\n]+$/, '');
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const items = parseJson(trimmed, (value) => Array.isArray(value) && value.every((item) => typeof item === 'string'));
    if (items === undefined) problems.push(`${key.path.join('.')}: ${source} is not a JSON array of strings`);
    return items;
  }
  if (trimmed.includes('-----BEGIN ')) return trimmed.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  if (trimmed.startsWith('{')) return [trimmed];
  return trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function parseEnvValue(key: ConfigKey, raw: string): unknown {
  switch (key.kind) {
    case 'number': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined;
    case 'list': {
      const text = raw.trim();
      if (text.startsWith('[')) return parseJson(text, Array.isArray);
      return text === '' ? [] : text.split(',').map((item) => item.trim());
    }
    case 'map':
      return parseJson(raw, (v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    default:
      return raw;
  }
}

function parseJson(text: string, accept: (value: unknown) => boolean): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return accept(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Tree;
  }
  node[path[path.length - 1] as string] = value;
}

function isSecret(key: ConfigKey): boolean {
  return SECRET_KEYS.has(key.path.join('.'));
}

/** The effective config with every secret replaced, for check-config output and start-up logs. */
export function maskSecrets(config: Config): unknown {
  const copy = structuredClone(config) as unknown as Tree;
  for (const secretPath of SECRET_KEYS) {
    const path = secretPath.split('.');
    let node: Tree | undefined = copy;
    for (const segment of path.slice(0, -1)) node = node?.[segment] as Tree | undefined;
    const leaf = path[path.length - 1] as string;
    if (!node || !(leaf in node)) continue;
    const value = node[leaf];
    if (Array.isArray(value)) node[leaf] = value.map(() => '***');
    else if (value) node[leaf] = '***';
  }
  const redis = (copy.session as Tree | undefined)?.redis as Tree | undefined;
  if (redis && typeof redis.url === 'string') redis.url = maskUrlCredentials(redis.url);
  return copy;
}
