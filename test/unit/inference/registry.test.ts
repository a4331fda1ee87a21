import path from 'node:path';
import { loadModelRegistry } from '../../../src/inference/registry.js';
import type { ModelRegistry, RegistryOptions } from '../../../src/inference/registry.js';
import { edit, fixtureGolden, fixtureManifest, ModelsDir, must, recordingLog } from './support/models.js';

function registryOptions(over: Partial<RegistryOptions> = {}): RegistryOptions {
  return { executionProviders: ['cpu'], maxBatch: 8, maxWaitMs: 0, queueCapacity: 16, timeoutMs: 10_000, log: () => undefined, ...over };
}

describe('loadModelRegistry', () => {
  let models: ModelsDir;
  let registry: ModelRegistry | undefined;

  beforeEach(() => {
    models = new ModelsDir();
  });
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    models.cleanup();
  });

  it('Loads the good model and marks each broken folder unavailable with its reason', async () => {
    const good = fixtureManifest('tiny-mean');
    models
      .add('tiny-mean', { from: 'tiny-mean' })
      .add('bad-json', { from: 'tiny-mean', manifest: '{"schemaVersion": 1,' })
      .add('bad-manifest', { from: 'tiny-mean', manifest: edit(good, 'output.labels.1.threshold', 2) })
      .add('missing-onnx', { from: 'tiny-mean', onnx: 'missing' })
      .add('corrupt-onnx', { from: 'tiny-mean', onnx: 'corrupt' })
      .add('wrong-input', { from: 'tiny-mean', manifest: edit(good, 'input.name', 'pixels') })
      .add('wrong-output', { from: 'tiny-mean', manifest: edit(good, 'output.name', 'probs') })
      .add('wrong-size', { from: 'tiny-mean', manifest: edit(good, 'input.width', 16) })
      .add('wrong-labels', {
        from: 'tiny-mean',
        manifest: edit(good, 'output.labels.2', { index: 2, key: 'other', display: 'Other', report: false }),
      })
      .folder('no-manifest', { 'README.md': 'work in progress' })
      .folder('.git')
      .folder('_shared', { 'train.py': '' })
      .file('MANIFEST.md', '# format');
    const { log, entries } = recordingLog();
    registry = await loadModelRegistry(models.dir, registryOptions({ log }));

    expect(registry.models().map((m) => m.manifest.id)).toEqual(['tiny-mean']);
    expect(registry.get('tiny-mean')?.description).toEqual({
      id: 'tiny-mean',
      version: '0.0.1',
      name: 'Tiny test model tiny-mean',
      manufacturer: 'imaging-cds tests',
      task: 'classification',
      intendedUse: 'Unit tests only. Its output is a fixed function of the mean pixel.',
      templates: { card: 'classification-card', report: 'classification-report' },
    });
    expect(registry.get('wrong-input')).toBeUndefined();

    const byFolder = Object.fromEntries(registry.status().map((s) => [s.folder, s]));
    expect(Object.keys(byFolder)).toEqual([
      'bad-json', 'bad-manifest', 'corrupt-onnx', 'missing-onnx', 'no-manifest',
      'tiny-mean', 'wrong-input', 'wrong-labels', 'wrong-output', 'wrong-size',
    ]);
    expect(byFolder['tiny-mean']).toEqual({ id: 'tiny-mean', folder: 'tiny-mean', status: 'ready', version: '0.0.1', provider: 'cpu', maxBatch: 8 });
    const reasons = Object.fromEntries(registry.status().filter((s) => s.status === 'unavailable').map((s) => [s.folder, s.reason]));
    // Two reasons quote parser messages (V8's JSON, onnxruntime's protobuf): match their start.
    const { 'bad-json': badJson, 'corrupt-onnx': corrupt, ...exact } = reasons;
    expect(badJson).toMatch(/^invalid manifest: \(root\): not valid JSON: /);
    expect(corrupt).toMatch(/^onnxruntime could not load model\.onnx: .*Protobuf parsing failed/);
    expect(exact).toEqual({
      'bad-manifest': 'invalid manifest: output.labels[1].threshold: must be within [0, 1]',
      'missing-onnx': `model file model.onnx not found in ${path.join(models.dir, 'missing-onnx')}`,
      'no-manifest': 'no manifest.json in the folder',
      'wrong-input': 'model input "pixels" not found; the model\'s inputs are: image (exactly one input named as in the manifest is required)',
      'wrong-output': 'model output "probs" not found; the model\'s outputs are: logits',
      'wrong-size': 'model input "image" has shape [batch, 1, 8, 8] but the manifest says width = 16',
      'wrong-labels': 'model output "logits" has 2 values per image but the manifest lists 3 labels',
    });
    expect(entries.filter((e) => e.level === 'error' && e.msg === 'model unavailable')).toHaveLength(9);
    expect(entries.find((e) => e.msg === 'model loaded')).toMatchObject({ level: 'info', fields: { modelId: 'tiny-mean', provider: 'cpu' } });
  });

  it('Reports a model switched off by its manifest as disabled, not unavailable, and loads the rest', async () => {
    models.add('tiny-mean', { from: 'tiny-mean' }).add('tiny-off', { from: 'tiny-mean', manifest: { ...fixtureManifest('tiny-mean'), enabled: false } });
    registry = await loadModelRegistry(models.dir, registryOptions());
    expect(registry.models().map((m) => m.manifest.id)).toEqual(['tiny-mean']);
    expect(registry.status().find((s) => s.folder === 'tiny-off')).toEqual({ id: 'tiny-off', folder: 'tiny-off', status: 'disabled', reason: 'disabled by its manifest ("enabled": false)' });
  });

  it('Loads exactly the configured model list, a manifest switched off included', async () => {
    models
      .add('tiny-mean', { from: 'tiny-mean' })
      .add('tiny-rgb', { from: 'tiny-rgb' })
      .add('tiny-off', { from: 'tiny-mean', manifest: { ...fixtureManifest('tiny-mean'), enabled: false } });
    registry = await loadModelRegistry(models.dir, registryOptions({ enabledModels: ['tiny-off', 'tiny-rgb'] }));
    expect(registry.models().map((m) => m.manifest.id)).toEqual(['tiny-off', 'tiny-rgb']);
    expect(registry.status().find((s) => s.folder === 'tiny-mean')).toMatchObject({ status: 'disabled', reason: 'not in the configured model list (MODELS)' });
  });

  it('Falls back to CPU when CUDA cannot load, and logs the fallback', async () => {
    models.add('tiny-mean', { from: 'tiny-mean' });
    const { log, entries } = recordingLog();
    registry = await loadModelRegistry(models.dir, registryOptions({ executionProviders: ['cuda', 'cpu'], log }));
    expect(registry.status()[0]).toMatchObject({ status: 'ready', provider: 'cpu' });
    const warning = entries.find((e) => e.level === 'warn');
    expect(warning).toMatchObject({
      level: 'warn',
      msg: 'execution provider cuda failed to create the session; falling back to cpu',
      fields: { modelId: 'tiny-mean', provider: 'cuda', next: 'cpu' },
    });
    // onnxruntime builds its errors in the host realm, so check the message, not instanceof.
    expect((warning?.fields?.['err'] as Error).message).toMatch(/Failed to load shared library/);
    // The session really runs on the fallback.
    const { logits } = await must(registry.get('tiny-mean')).session.run([new Float32Array(64)]);
    expect(logits.map((l) => Array.from(l))).toEqual([[0, 0]]);
  });

  it('Adds CPU as the last resort when only CUDA is asked for', async () => {
    models.add('tiny-mean', { from: 'tiny-mean' });
    const { log, entries } = recordingLog();
    registry = await loadModelRegistry(models.dir, registryOptions({ executionProviders: ['cuda'], log, intraOpNumThreads: 1, interOpNumThreads: 1 }));
    expect(registry.status()[0]).toMatchObject({ status: 'ready', provider: 'cpu' });
    expect(entries.filter((e) => e.level === 'warn').map((e) => e.fields?.['provider'])).toEqual(['cuda']);
  });

  it('Detects the batch axis: dynamic, fixed at 1, or by a probe run when the graph declares no shape', async () => {
    models
      .add('tiny-mean', { from: 'tiny-mean' })
      .add('tiny-mean-b1', { from: 'tiny-mean-b1' })
      .add('tiny-noshape', { from: 'tiny-noshape' });
    registry = await loadModelRegistry(models.dir, registryOptions({ maxBatch: 6 }));
    expect(registry.status().map((s) => [s.folder, s.status, s.maxBatch])).toEqual([
      ['tiny-mean', 'ready', 6],
      ['tiny-mean-b1', 'ready', 1],
      ['tiny-noshape', 'ready', 6],
    ]);
    const batch = await must(registry.get('tiny-noshape')).session.run([new Float32Array(64).fill(1), new Float32Array(64).fill(-1)]);
    expect(batch.logits.map((l) => Array.from(l))).toEqual([[0, 4], [0, -4]]);
    await expect(must(registry.get('tiny-mean-b1')).session.run([new Float32Array(64), new Float32Array(64)])).rejects.toThrow(
      new RangeError('batch of 2 for a model that accepts 1..1'),
    );
  });

  it('Computes the logits torch computed for the golden inputs', async () => {
    models.add('tiny-mean', { from: 'tiny-mean' }).add('tiny-rgb', { from: 'tiny-rgb' });
    registry = await loadModelRegistry(models.dir, registryOptions());
    for (const name of ['tiny-mean', 'tiny-rgb'] as const) {
      const session = must(registry.get(name)).session;
      for (const c of fixtureGolden(name).cases) {
        const [n, ch, h, w] = c.shape as [number, number, number, number];
        const per = ch * h * w;
        const items = Array.from({ length: n }, (_, i) => Float32Array.from(c.input.slice(i * per, (i + 1) * per)));
        const { logits, ms } = await session.run(items);
        expect(ms).toBeGreaterThanOrEqual(0);
        const flat = logits.flatMap((l) => Array.from(l));
        expect(flat).toHaveLength(c.logits.length);
        flat.forEach((v, i) => {
          expect(v).toBeCloseTo(c.logits[i] as number, 6);
        });
      }
    }
  });

  it('Stops start-up with a clear error when the models directory is missing', async () => {
    const missing = path.join(models.dir, 'nope');
    await expect(loadModelRegistry(missing, registryOptions())).rejects.toThrow(`models directory ${missing} cannot be read: `);
  });
});
