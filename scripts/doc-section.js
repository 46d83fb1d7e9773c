// A generated part of a markdown file between two marker lines: `--write` replaces it, otherwise (or `--check`)
// the process exits 1 when the file differs from what would be written, so CI catches drift.
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * @param {{ file: string, begin: string, end: string, content: string, what: string, regenerate: string }} section
 *   file: the path from the repository root (docs/configuration.md); content: the whole section, markers included;
 *   what: its name in messages; regenerate: the command that rewrites it
 */
export function writeOrCheckDocSection({ file, begin, end, content, what, regenerate }) {
  const url = new URL(`../${file}`, import.meta.url);
  const text = readFileSync(url, 'utf8');
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start === -1 || stop === -1 || stop < start) {
    console.error(`${file} has no ${begin} … ${end} markers`);
    process.exit(1);
  }
  const updated = `${text.slice(0, start)}${content}${text.slice(stop + end.length)}`;
  if (process.argv.includes('--write')) {
    writeFileSync(url, updated);
    console.log(`${file} ${what} written`);
  } else if (updated !== text) {
    console.error(`${file} ${what} is out of date: run \`${regenerate}\``);
    process.exit(1);
  } else {
    console.log(`${file} ${what} is up to date`);
  }
}
