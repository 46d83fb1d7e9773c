// A memory cgroup for one bench child, as a container's memory limit is: Node sizes its heap from the limit it finds
// at start (nodejs/node#27508), so a row run in one measures what a replica in such a container does. Needs write
// access to the bench's own memory cgroup (cgroup v1's memory controller, or v2 with memory delegated to it).
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A new cgroup limited to `limitMiB` under this process's own, or the reason there is none. `launcher` prefixes the
 * child's command: a shell that moves itself into the cgroup, then execs node (same pid, limit seen at start).
 * @param {number} limitMiB
 * @returns {{ launcher: string[], remove: () => void } | { unavailable: string }}
 */
export function memoryCgroup(limitMiB) {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.map((line) => /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/.exec(line)?.[1]).find((path) => path !== undefined);
  const v2 = lines.map((line) => /^0::(.*)$/.exec(line)?.[1]).find((path) => path !== undefined);
  const parent = v1 !== undefined ? join('/sys/fs/cgroup/memory', v1) : v2 !== undefined ? join('/sys/fs/cgroup', v2) : undefined;
  if (parent === undefined) return { unavailable: 'no memory cgroup in /proc/self/cgroup' };
  const dir = join(parent, `gatehouse-bench-${process.pid}-${limitMiB}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, v1 !== undefined ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMiB * 1024 * 1024));
  } catch (error) {
    try {
      rmdirSync(dir);
    } catch {
      // not created
    }
    return { unavailable: `cannot create a limited cgroup under ${parent} (${/** @type {NodeJS.ErrnoException} */ (error).code ?? 'error'})` };
  }
  return {
    launcher: ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(dir, 'cgroup.procs')],
    // once its process has exited
    remove: () => rmdirSync(dir),
  };
}
