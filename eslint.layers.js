/**
 * The layers of src/, written down once. Each part of src/ (a folder, or a file at the top)
 * may import only the parts listed for it, and enters a folder only through its index.ts.
 * The table is a DAG, so there is no cycle between parts. README § Architecture draws it.
 *
 * Turned into `no-restricted-imports` rules below; test/unit/architecture.test.ts shows that a
 * back edge or a deep import fails lint.
 */

/** part → the parts it may import. */
export const LAYERS = {
  // Foundation: plain modules every layer may use.
  errors: [],
  logging: [],
  terminology: [],
  image: [],
  'cds-hooks': ['errors'],
  // Adapters to the outside world and to the models.
  auth: ['errors', 'logging'],
  audit: ['errors', 'logging'],
  fhir: ['errors', 'logging', 'terminology'],
  dicom: ['errors', 'logging', 'image'],
  inference: ['errors', 'logging', 'image'],
  // Rendering, then the use case, then its job queue, then the CDS services, then HTTP.
  reports: ['errors', 'terminology', 'image', 'cds-hooks', 'inference'],
  analysis: ['errors', 'logging', 'image', 'dicom', 'inference', 'reports'],
  jobs: ['errors', 'logging', 'analysis'],
  cds: ['errors', 'logging', 'terminology', 'cds-hooks', 'fhir', 'analysis', 'jobs', 'reports'],
  // Analysis started before a hook asks: by the PACS, or by a FHIR Subscription notification.
  triggers: ['errors', 'logging', 'dicom', 'analysis', 'jobs', 'cds'],
  // The SMART result viewer's and the operations page's server side (no HTTP in it).
  viewer: ['errors', 'logging', 'terminology', 'auth', 'audit', 'cds-hooks', 'cds', 'config-viewer'],
  http: ['errors', 'logging', 'cds-hooks', 'cds', 'audit', 'jobs', 'triggers', 'viewer'],
  // Composition root: configuration, the express app, the wiring of concrete parts, entry points.
  'config-base': [],
  'config-viewer': ['auth', 'config-base'],
  config: ['errors', 'terminology', 'auth', 'fhir', 'config-base', 'config-viewer'],
  app: ['logging', 'http', 'viewer'],
  wiring: ['errors', 'logging', 'config', 'app', 'auth', 'audit', 'fhir', 'dicom', 'inference', 'reports', 'analysis', 'jobs', 'cds', 'triggers', 'http'],
  'process-entry': ['logging', 'config'],
  main: ['logging', 'config', 'app', 'wiring', 'process-entry', 'viewer'],
  worker: ['logging', 'config', 'app', 'wiring', 'process-entry'],
  cli: ['errors', 'logging', 'terminology', 'cds-hooks', 'dicom', 'config', 'app', 'wiring'],
};

/** Third-party libraries that only one part may import (each sits behind one module). */
const OWNED = {
  'fhir-kit-client': 'fhir',
  undici: 'fhir',
  dcmjs: 'dicom',
  'onnxruntime-node': 'inference',
  handlebars: 'reports',
  // The viewer verifies SMART access tokens (another issuer, audience and claim set than CDS client JWTs).
  jose: ['auth', 'viewer'],
  express: ['http', 'app'],
  bullmq: 'jobs',
  ioredis: 'jobs',
};

const FOLDERS = new Set(['image', 'cds-hooks', 'auth', 'audit', 'fhir', 'dicom', 'inference', 'reports', 'analysis', 'jobs', 'cds', 'triggers', 'http', 'cli', 'viewer']);
const PARTS = Object.keys(LAYERS);
// Part names are [a-z-]+: nothing in them needs escaping in a regular expression.
const escape = (s) => s;

/** Relative-path prefix that leads from a file at `depth` folders below src/ back to src/. */
const prefixAt = (depth) => (depth === 0 ? '\\./' : `(?:\\.\\./){${depth}}`);

function rule(part, depth) {
  const prefix = prefixAt(depth);
  const allowed = new Set([part, ...LAYERS[part]]);
  const forbidden = PARTS.filter((p) => !allowed.has(p));
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^${prefix}(?:${forbidden.map(escape).join('|')})(?:/|\\.js$)`,
      message: `src/${part} may import only ${[...LAYERS[part]].join(', ') || 'nothing of src/'} (layers in eslint.layers.js).`,
    });
  }
  patterns.push({
    regex: `^${prefix}(?:${[...FOLDERS].filter((f) => f !== part).map(escape).join('|')})/(?!index\\.js$)`,
    message: 'Enter another folder of src/ only through its index.ts.',
  });
  const paths = Object.entries(OWNED)
    .filter(([, owner]) => ![owner].flat().includes(part))
    .map(([name, owner]) => ({ name, message: `Only src/${[owner].flat().join(' and src/')} import ${name}.` }));
  return ['error', { paths, patterns }];
}

function filesOf(part, depth) {
  if (!FOLDERS.has(part)) return depth === 0 ? [`src/${part}.ts`] : [];
  return depth === 0 ? [] : [`src/${part}/${'*/'.repeat(depth - 1)}*.ts`];
}

/** Tools, benchmarks and scripts use src/ like any other client: through the public entries. */
const outside = {
  files: ['tools/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ regex: `^(?:\\.\\./)+src/(?:${[...FOLDERS].map(escape).join('|')})/(?!index\\.js$)`, message: 'Use src/ through the public entry (index.ts) of each folder.' }] }],
  },
};

export const layerConfigs = [
  ...PARTS.flatMap((part) => [0, 1, 2, 3].flatMap((depth) => {
    const files = filesOf(part, depth);
    return files.length === 0 ? [] : [{ files, rules: { 'no-restricted-imports': rule(part, depth) } }];
  })),
  outside,
  // Small modules and functions: a reader sees one idea at a time.
  { files: ['src/**/*.ts'], rules: { 'max-lines': ['error', { max: 400 }], 'max-lines-per-function': ['error', { max: 100 }] } },
];
