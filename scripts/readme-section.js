// A generated part of README.md between two marker lines: `--write` replaces it, otherwise (or `--check`) the
// process exits 1 when the README differs from what would be written, so CI catches drift.
import { readFileSync, writeFileSync } from 'node:fs';

const README = new URL('../README.md', import.meta.url);

/**
 * @param {{ begin: string, end: string, content: string, what: string, regenerate: string }} section
 *   content: the whole section, markers included; what: its name in messages; regenerate: the command that rewrites it
 */
export function writeOrCheckReadmeSection({ begin, end, content, what, regenerate }) {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  if (start === -1 || stop === -1 || stop < start) {
    console.error(`README.md has no ${begin} … ${end} markers`);
    process.exit(1);
  }
  const updated = `${readme.slice(0, start)}${content}${readme.slice(stop + end.length)}`;
  if (process.argv.includes('--write')) {
    writeFileSync(README, updated);
    console.log(`README.md ${what} written`);
  } else if (updated !== readme) {
    console.error(`README.md ${what} is out of date: run \`${regenerate}\``);
    process.exit(1);
  } else {
    console.log(`README.md ${what} is up to date`);
  }
}
