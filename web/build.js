/**
 * Bundles the browser pages (the SMART result viewer and the operations page) with esbuild into
 * dist/web/{viewer,ops}/: index.html, one minified script, one style sheet. Nothing is loaded
 * from elsewhere at run time. `npm run build` runs it; the browser tests call buildWeb().
 *
 *   node web/build.js [outDir]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

const PAGES = [
  { name: 'viewer', entry: 'viewer/main.ts', script: 'viewer.js' },
  { name: 'ops', entry: 'ops/main.ts', script: 'ops.js' },
];

/**
 * @param {string} outDir - where the pages go (default dist/web beside the repository's src/)
 * @returns {Promise<string>} outDir
 */
export async function buildWeb(outDir = path.resolve(here, '..', 'dist', 'web')) {
  for (const page of PAGES) {
    const dir = path.join(outDir, page.name);
    mkdirSync(path.join(dir, 'assets'), { recursive: true });
    await build({
      entryPoints: [path.join(here, page.entry)],
      outfile: path.join(dir, 'assets', page.script),
      bundle: true,
      minify: true,
      format: 'iife',
      target: 'es2022',
      platform: 'browser',
      legalComments: 'none',
      logLevel: 'warning',
    });
    copyFileSync(path.join(here, page.name, 'index.html'), path.join(dir, 'index.html'));
    copyFileSync(path.join(here, 'shared', 'style.css'), path.join(dir, 'assets', 'style.css'));
  }
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildWeb(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]));
  process.stdout.write(`web pages bundled into ${out}\n`);
}
