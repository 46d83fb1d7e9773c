// What `check-config` prints: the effective config with secrets masked and durations as people write them (8h, 90s).
import { formatDuration } from './duration.js';
import { CONFIG_KEYS } from './keys.js';
import { maskSecrets } from './load.js';
import type { Config } from './schema.js';

type Tree = Record<string, unknown>;

export function printableConfig(config: Config): Tree {
  const copy = maskSecrets(config) as Tree;
  for (const key of CONFIG_KEYS) {
    if (key.kind !== 'duration') continue;
    let node: unknown = copy;
    for (const segment of key.path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Tree)[segment] : undefined;
    const leaf = key.path[key.path.length - 1] as string;
    if (node && typeof node === 'object' && typeof (node as Tree)[leaf] === 'number') (node as Tree)[leaf] = formatDuration((node as Tree)[leaf] as number);
  }
  return copy;
}
