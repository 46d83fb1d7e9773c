// Writes (--write) or checks (--check) config/gatehouse.schema.json, the JSON Schema of the config file
// (src/config/json-schema.ts), so editors complete and check keys. In a YAML config file:
//   # yaml-language-server: $schema=./gatehouse.schema.json
import { readFileSync, writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/src/config/json-schema.js';

const FILE = new URL('../config/gatehouse.schema.json', import.meta.url);
const SHOWN = 'config/gatehouse.schema.json';

const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
if (process.argv.includes('--write')) {
  writeFileSync(FILE, text);
  console.log(`${SHOWN} written`);
} else {
  let committed = '';
  try {
    committed = readFileSync(FILE, 'utf8');
  } catch {
    // missing: out of date
  }
  if (committed !== text) {
    console.error(`${SHOWN} is out of date: run \`npm run docs\``);
    process.exit(1);
  }
  console.log(`${SHOWN} is up to date`);
}
