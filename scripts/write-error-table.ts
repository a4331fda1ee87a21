/**
 * Rewrites the error-code table in README.md from src/errors.ts.
 *   npm run build && node dist/scripts/write-error-table.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { withErrorTable } from './error-table.js';

const file = path.join(PROJECT_ROOT, 'README.md');
writeFileSync(file, withErrorTable(readFileSync(file, 'utf8')));
process.stdout.write(`wrote the error table in ${file}\n`);
