// The flat list of config keys read off the schema: environment overrides and the docs/configuration.md reference both use it.
import type { z } from 'zod';
import { configSchema, SECRET_KEYS } from './schema.js';

export type KeyKind = 'string' | 'number' | 'boolean' | 'duration' | 'enum' | 'list' | 'map';

export interface ConfigKey {
  path: string[];
  env: string;
  /** GATEHOUSE_<KEY>_FILE, for the keys that may come from a file (mounted secrets, re-read at every SIGHUP). */
  fileEnv?: string;
  kind: KeyKind;
  choices?: string[];
  defaultValue: unknown;
  description: string;
}

type AnySchema = z.core.$ZodType;

interface Unwrapped {
  inner: AnySchema;
  defaultValue: unknown;
  description: string;
  isDuration: boolean;
}

function describe(schema: AnySchema): string | undefined {
  return (schema as unknown as { description?: string }).description;
}

function unwrap(schema: AnySchema): Unwrapped {
  let current = schema;
  let defaultValue: unknown;
  let description = describe(schema) ?? '';
  let isDuration = false;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema; defaultValue?: unknown };
    if ((def.type === 'default' || def.type === 'prefault') && def.innerType) {
      defaultValue ??= def.defaultValue;
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      isDuration = true;
      current = def.in;
    } else break;
    description ||= describe(current) ?? '';
  }
  return { inner: current, defaultValue, description, isDuration };
}

function kindOf(u: Unwrapped): { kind: KeyKind; choices?: string[] } {
  if (u.isDuration) return { kind: 'duration' };
  const def = u.inner._zod.def as { type: string; entries?: Record<string, string> };
  switch (def.type) {
    case 'number':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', choices: Object.values(def.entries ?? {}) };
    case 'array':
      return { kind: 'list' };
    case 'record':
      return { kind: 'map' };
    default:
      return { kind: 'string' };
  }
}

/** Keys that may also come from a file named by GATEHOUSE_<KEY>_FILE: the secrets and the Redis URL. */
const FILE_KEYS: ReadonlySet<string> = new Set([...SECRET_KEYS, 'session.redis.url']);

function collect(schema: AnySchema, path: string[], out: ConfigKey[]): void {
  const u = unwrap(schema);
  const def = u.inner._zod.def as { type: string; shape?: Record<string, AnySchema> };
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) collect(child, [...path, key], out);
    return;
  }
  const env = `GATEHOUSE_${path.join('_').toUpperCase()}`;
  out.push({
    path,
    env,
    ...(FILE_KEYS.has(path.join('.')) ? { fileEnv: `${env}_FILE` } : {}),
    ...kindOf(u),
    defaultValue: u.defaultValue,
    description: u.description,
  });
}

export const CONFIG_KEYS: readonly ConfigKey[] = (() => {
  const out: ConfigKey[] = [];
  collect(configSchema, [], out);
  return out;
})();

/** Every environment variable gatehouse reads: GATEHOUSE_<KEY>, and GATEHOUSE_<KEY>_FILE where a file may hold the value. */
export const CONFIG_ENV_NAMES: ReadonlyMap<string, ConfigKey> = new Map(
  CONFIG_KEYS.flatMap((key) => (key.fileEnv ? [[key.env, key] as const, [key.fileEnv, key] as const] : [[key.env, key] as const])),
);

/**
 * The known variable closest to `name`, for "did you mean" in the unknown-variable error: the one sharing the most
 * words (a plural matches its singular), then the fewest edits.
 */
export function closestEnvName(name: string): string | undefined {
  const words = name.split('_');
  const shared = (known: string): number => {
    const knownWords = known.split('_');
    return words.filter((word) => knownWords.some((k) => k === word || k === `${word}S` || `${k}S` === word)).length;
  };
  let best: { name: string; shared: number; distance: number } | undefined;
  for (const known of CONFIG_ENV_NAMES.keys()) {
    const candidate = { name: known, shared: shared(known), distance: editDistance(name, known) };
    if (!best || candidate.shared > best.shared || (candidate.shared === best.shared && candidate.distance < best.distance)) best = candidate;
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
