// `npm run docs:check` part: every relative link in README.md, CONTRIBUTING.md and docs/**/*.md names a file that
// exists (and, for a markdown file, a heading its #anchor can point at), and README.md stays under 12 KB: the
// details belong in docs/. Exits 1 with one line per problem.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README_LIMIT = 12 * 1024;

function markdownFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return markdownFiles(path);
      return name.endsWith('.md') ? [path] : [];
    });
}

function withoutFences(text) {
  return text.replace(/^ {0,3}```[\s\S]*?^ {0,3}```/gm, '');
}

/** The text outside code blocks and code spans, where a link is a link. */
function prose(text) {
  return withoutFences(text).replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchors for the headings of a markdown file (a repeated heading gets -1, -2, …). */
function anchors(path) {
  const seen = new Map();
  const found = new Set();
  for (const match of withoutFences(readFileSync(path, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)) {
    const heading = match[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replaceAll('`', '');
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

function linkProblems(path) {
  const problems = [];
  const targets = [...prose(readFileSync(path, 'utf8')).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1] ?? m[2]);
  for (const target of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [file, anchor] = target.split('#');
    const resolved = file === '' ? path : join(dirname(path), decodeURIComponent(file));
    const shown = `${relative(ROOT, path)}: ${target}`;
    if (!existsSync(resolved)) problems.push(`${shown}: no such file`);
    else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) problems.push(`${shown}: no heading #${anchor}`);
  }
  return problems;
}

const files = [join(ROOT, 'README.md'), join(ROOT, 'CONTRIBUTING.md'), ...markdownFiles(join(ROOT, 'docs'))];
const problems = files.flatMap(linkProblems);
const readmeBytes = statSync(join(ROOT, 'README.md')).size;
if (readmeBytes >= README_LIMIT) problems.push(`README.md is ${readmeBytes} bytes, the limit is ${README_LIMIT}: move details to a page under docs/`);
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exit(1);
console.log(`links in ${files.length} markdown files resolve; README.md is ${readmeBytes} bytes (limit ${README_LIMIT})`);
