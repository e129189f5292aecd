/**
 * `npm run docs:flags`: rewrites README's flag table (between its markers)
 * from the settings schema. test/unit/flag-docs.test.ts fails when README is
 * behind the schema.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withFlagTable } from '../src/config/flag-docs.js';

const readmePath = new URL('../../README.md', import.meta.url);
const before = readFileSync(readmePath, 'utf8');
const after = withFlagTable(before);
if (after === before) {
  process.stdout.write('README.md: flag table already up to date\n');
} else {
  writeFileSync(readmePath, after);
  process.stdout.write('README.md: flag table rewritten from src/config/schema.ts\n');
}
