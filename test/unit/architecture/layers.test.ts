/**
 * The layer rules of eslint.layers.js, checked with ESLint itself: a back edge, a deep import
 * or a library used outside its owner fails lint, and the real src/ passes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
// @ts-expect-error -- a plain JavaScript config module, without type declarations
import { LAYERS, layerConfigs } from '../../../eslint.layers.js';

const layers = LAYERS as Record<string, string[]>;
const root = path.resolve('.');

/** ESLint with only the layer rules (no type information needed). */
const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...(layerConfigs as ESLint.Options['overrideConfig'][])].flat() as ESLint.Options['overrideConfig'],
});

async function problems(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  // Inline directives may name rules this reduced config does not load: only the layer rules
  // (and parse failures) count here; the full config checks the rest.
  const counted = (result?.messages ?? []).filter((m) => m.fatal === true || (m.ruleId !== null && !m.message.startsWith('Definition for rule')));
  return counted.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

describe('the layers of src/', () => {
  it('form a graph without cycles, so no part can reach back to itself', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (part: string, trail: string[]): void => {
      if (done.has(part)) return;
      if (visiting.has(part)) {
        cycles.push([...trail, part].join(' → '));
        return;
      }
      visiting.add(part);
      for (const next of layers[part] ?? []) visit(next, [...trail, part]);
      visiting.delete(part);
      done.add(part);
    };
    for (const part of Object.keys(layers)) visit(part, []);
    expect(cycles).toEqual([]);
  });

  it('cover every folder and top-level file of src/, and every folder has its index.ts', () => {
    const parts = readdirSync(path.join(root, 'src')).map((n) => n.replace(/\.ts$/, '')).filter((n) => !n.endsWith('.d'));
    expect(parts.filter((p) => !(p in layers))).toEqual([]);
    const folders = readdirSync(path.join(root, 'src')).filter((n) => statSync(path.join(root, 'src', n)).isDirectory());
    expect(folders.filter((f) => !readdirSync(path.join(root, 'src', f)).includes('index.ts'))).toEqual([]);
  });

  it('fail lint on a back edge: reports may not import the cds services', async () => {
    expect(await problems('src/reports/back-edge.ts', "import { createCatalogue } from '../cds/index.js';\nexport const x = createCatalogue;\n")).toEqual([
      'no-restricted-imports: \'../cds/index.js\' import is restricted from being used by a pattern. src/reports may import only errors, terminology, image, cds-hooks, inference (layers in eslint.layers.js).',
    ]);
  });

  it('fail lint on a back edge from a nested folder: a CDS service may not import http', async () => {
    const found = await problems('src/cds/services/back-edge.ts', "import { cdsRouter } from '../../http/index.js';\nexport const x = cdsRouter;\n");
    expect(found).toEqual([expect.stringContaining('src/cds may import only')]);
  });

  it('fail lint on a deep import past another folder\'s index.ts', async () => {
    expect(await problems('src/analysis/deep.ts', "import { parseDicom } from '../dicom/parse.js';\nexport const x = parseDicom;\n")).toEqual([
      "no-restricted-imports: '../dicom/parse.js' import is restricted from being used by a pattern. Enter another folder of src/ only through its index.ts.",
    ]);
  });

  it('fail lint when a library is imported outside the one module that owns it', async () => {
    expect(await problems('src/analysis/lib.ts', "import Handlebars from 'handlebars';\nexport const x = Handlebars;\n")).toEqual([
      "no-restricted-imports: 'handlebars' import is restricted from being used. Only src/reports import handlebars.",
    ]);
  });

  it('fail lint when a tool reaches past a public entry of src/', async () => {
    expect(await problems('tools/eval/deep.ts', "import { preprocess } from '../../src/inference/preprocess.js';\nexport const x = preprocess;\n")).toEqual([
      expect.stringContaining('through the public entry'),
    ]);
  });

  it('pass on the real src/: every import follows the layers', async () => {
    const files = tsFiles(path.join(root, 'src'));
    const results = await Promise.all(files.map(async (f) => ({ file: path.relative(root, f), found: await problems(path.relative(root, f), readFileSync(f, 'utf8')) })));
    expect(results.filter((r) => r.found.length > 0)).toEqual([]);
  }, 60_000);
});
