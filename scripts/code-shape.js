#!/usr/bin/env node
// The shape of src/: every folder and file with its line count, then the longest functions.
// `node scripts/code-shape.js [--top N] [--dir src] [--check [--quiet]]`; --check fails when a file is over 300 lines
// or a function over 60 (declarative tables, marked `// shape: table`, are exempt).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const root = option('--dir', 'src');
const top = Number(option('--top', '10'));
const check = args.includes('--check');
const quiet = args.includes('--quiet');
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 60;

function sourceFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sourceFiles(path);
      return path.endsWith('.ts') ? [path] : [];
    });
}

const lineCount = (text) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

function functionName(node, file) {
  if (node.name) return node.name.getText(file);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(file);
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression;
    return `(callback to ${ts.isPropertyAccessExpression(callee) ? callee.name.getText(file) : callee.getText(file).slice(0, 40)})`;
  }
  return '(anonymous)';
}

function isExemptTable(node, file) {
  const leading = ts.getLeadingCommentRanges(file.text, node.getFullStart()) ?? [];
  return leading.some((range) => file.text.slice(range.pos, range.end).includes('shape: table'));
}

function functionsOf(path) {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      let owner = node;
      while (owner.parent && !ts.isVariableStatement(owner) && !ts.isSourceFile(owner.parent)) owner = owner.parent;
      found.push({
        where: `${relative('.', path)}:${start + 1}`,
        name: functionName(node, file),
        lines: end - start + 1,
        exempt: isExemptTable(node, file) || isExemptTable(owner, file),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { text, functions: found };
}

const files = sourceFiles(root).map((path) => ({ path, ...functionsOf(path) }));
const byFolder = new Map();
for (const file of files) {
  const folder = relative(root, file.path).split('/').slice(0, -1).join('/') || '.';
  const entry = byFolder.get(folder) ?? { lines: 0, files: [] };
  entry.lines += lineCount(file.text);
  entry.files.push(file);
  byFolder.set(folder, entry);
}

const total = files.reduce((sum, file) => sum + lineCount(file.text), 0);
const functions = files.flatMap((file) => file.functions).sort((a, b) => b.lines - a.lines);
if (!quiet) printShape();

function printShape() {
  console.log(`${root}/  ${files.length} files, ${total} lines`);
  for (const [folder, entry] of [...byFolder].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`  ${folder === '.' ? '(top)' : `${folder}/`}  ${entry.files.length} files, ${entry.lines} lines`);
    for (const file of entry.files) console.log(`      ${String(lineCount(file.text)).padStart(4)}  ${relative(join(root, folder), file.path)}`);
  }

  console.log(`\nten longest functions${top === 10 ? '' : ` (top ${top})`}:`);
  for (const fn of functions.slice(0, top)) console.log(`  ${String(fn.lines).padStart(4)}  ${fn.name}  ${fn.where}${fn.exempt ? '  (table)' : ''}`);
}

if (check) {
  const longFiles = files.filter((file) => lineCount(file.text) > MAX_FILE_LINES);
  const longFunctions = functions.filter((fn) => fn.lines > MAX_FUNCTION_LINES && !fn.exempt);
  for (const file of longFiles) console.error(`over ${MAX_FILE_LINES} lines: ${file.path} (${lineCount(file.text)})`);
  for (const fn of longFunctions) console.error(`function over ${MAX_FUNCTION_LINES} lines: ${fn.name} ${fn.where} (${fn.lines})`);
  if (longFiles.length > 0 || longFunctions.length > 0) process.exit(1);
}
