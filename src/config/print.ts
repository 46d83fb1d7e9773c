// What `check-config` prints: the effective config with secrets masked (credentials in any URL too) and durations
// as people write them (8h, 90s).
import { maskUrlCredentials } from './checks.js';
import { formatDuration } from './duration.js';
import { CONFIG_KEYS } from './keys.js';
import { maskSecrets } from './load.js';
import type { Config } from './schema.js';

type Tree = Record<string, unknown>;

export function printableConfig(config: Config): Tree {
  const copy = maskSecrets(config) as Tree;
  for (const key of CONFIG_KEYS) {
    let node: unknown = copy;
    for (const segment of key.path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Tree)[segment] : undefined;
    if (!node || typeof node !== 'object') continue;
    const parent = node as Tree;
    const leaf = key.path[key.path.length - 1] as string;
    const value = parent[leaf];
    if (key.kind === 'duration' && typeof value === 'number') parent[leaf] = formatDuration(value);
    else if (typeof value === 'string' && value.includes('://')) parent[leaf] = maskUrlCredentials(value);
  }
  return copy;
}
