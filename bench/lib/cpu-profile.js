// Reading V8 .cpuprofile files (node --cpu-prof): the samples taken within a time window, each with its stack.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {number[]} [children]
 * @property {{ functionName: string, url: string, lineNumber: number }} callFrame
 */
/** @typedef {{ nodes: ProfileNode[], startTime: number, samples: number[], timeDeltas: number[] }} Profile */

/** The one .cpuprofile a child wrote into `dir`. @returns {Profile} */
export function readProfile(dir) {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

/** process.hrtime in µs: the same clock as the profile's timestamps (CLOCK_MONOTONIC on Linux). */
export function monotonicMicros() {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Calls `visit(leaf, micros, parentOf)` for every sample taken within `window` (monotonic µs). A sample's duration is
 * the delta to the next sample. Falls back to the whole profile when no sample lies in the window (clocks apart).
 * @param {Profile} profile
 * @param {{ from: number, to: number }} window
 * @param {(leaf: ProfileNode, micros: number, parentOf: Map<number, ProfileNode>) => void} visit
 * @returns {string} which samples were read
 */
export function eachSample(profile, window, visit) {
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  /** @type {Map<number, ProfileNode>} */
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const walk = (/** @type {{ from: number, to: number }} */ range) => {
    let seen = 0;
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      at += profile.timeDeltas[i] ?? 0;
      if (at < range.from || at > range.to) continue;
      const leaf = byId.get(/** @type {number} */ (profile.samples[i]));
      if (!leaf) continue;
      seen++;
      visit(leaf, profile.timeDeltas[i + 1] ?? 0, parentOf);
    }
    return seen;
  };
  if (walk(window) > 0) return 'the measured seconds only';
  walk({ from: 0, to: Infinity });
  return 'whole profile, start-up and warm-up included: the clocks did not line up';
}

/** Where a function lives: gatehouse's own files relative to the repo, packages by name, node internals as is. */
export function shortPath(url) {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules !== -1) return path.slice(modules + '/node_modules/'.length);
  const dist = path.indexOf('/dist/');
  return dist !== -1 ? path.slice(dist + 1) : path;
}
