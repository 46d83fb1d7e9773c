// The flat list of config keys read off the schema: environment overrides and the README reference both use it.
import type { z } from 'zod';
import { configSchema } from './schema.js';

export type KeyKind = 'string' | 'number' | 'boolean' | 'duration' | 'enum' | 'list' | 'map';

export interface ConfigKey {
  path: string[];
  env: string;
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

function collect(schema: AnySchema, path: string[], out: ConfigKey[]): void {
  const u = unwrap(schema);
  const def = u.inner._zod.def as { type: string; shape?: Record<string, AnySchema> };
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape)) collect(child, [...path, key], out);
    return;
  }
  out.push({
    path,
    env: `GATEHOUSE_${path.join('_').toUpperCase()}`,
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
