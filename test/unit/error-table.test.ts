import { readFileSync } from 'node:fs';
import { withErrorTable } from '../../scripts/error-table.js';
import { ERRORS } from '../../src/errors.js';

describe('the README error table', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('is exactly the table made from src/errors.ts (run scripts/write-error-table.ts after changing a code)', () => {
    expect(withErrorTable(readme)).toBe(readme);
  });

  it('names every stable code once', () => {
    for (const code of Object.keys(ERRORS)) expect(readme.split(`| \`${code}\` |`).length - 1).toBe(1);
  });
});
