import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifest } from '../../../src/inference/index.js';
import { discoverEvaluations, parseEvaluationList } from '../../../tools/eval/index.js';

const modelsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models');

/** The message parseEvaluationList throws for a manifest with this `evaluation`. */
function problem(evaluation: unknown): string {
  try {
    parseEvaluationList({ evaluation });
  } catch (err) {
    return (err as Error).message;
  }
  return '(accepted)';
}

describe('a manifest\'s evaluation list', () => {
  it('is optional: a manifest without it has nothing to evaluate', () => {
    expect(parseEvaluationList({ id: 'x' })).toEqual([]);
  });

  it('accepts each registered test-set kind', () => {
    const list = [
      { section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'grey' } },
      { section: 'metrics.benchmark', testSet: { kind: 'medmnist', file: 'pneumoniamnist.npz', positiveLabels: [1] } },
    ];
    expect(parseEvaluationList({ evaluation: list })).toEqual(list);
    expect(parseEvaluationList({ evaluation: [{ section: 'metrics', testSet: { kind: 'drive' } }] })).toHaveLength(1);
  });

  it('names the unknown kind\'s field and the kinds there are', () => {
    expect(problem([{ section: 'metrics', testSet: { kind: 'chexpert' } }])).toBe('evaluation[0].testSet.kind: kind must be one of "medmnist", "kermany-jpeg", "drive"');
  });

  it('names each invalid field by its path', () => {
    expect(problem([{ section: 'metrics', testSet: { kind: 'medmnist', file: 'breastmnist.npz', positiveLabels: [] } }])).toBe(
      'evaluation[0].testSet.positiveLabels: must name at least one label',
    );
    expect(problem([{ section: 'metrics', testSet: { kind: 'medmnist', file: '../x.npz', positiveLabels: [0.5] } }])).toMatch(
      /^evaluation\[0\]\.testSet\.file: must be the name of a \.npz file.*\nevaluation\[0\]\.testSet\.positiveLabels\[0\]: must be whole numbers$/s,
    );
    expect(problem([{ section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'sepia' } }])).toBe(
      'evaluation[0].testSet.colour: must be "grey" (PIL-identical 8-bit grey) or "rgb"',
    );
    expect(problem([{ section: 'metrics', testSet: { kind: 'drive', observer: 2 } }])).toMatch(/^evaluation\[0\]\.testSet: .*observer/);
    expect(problem([{ section: 'metrics.test', testSet: { kind: 'drive' } }])).toBe('evaluation[0].section: section must be "metrics" or "metrics.benchmark"');
  });

  it('refuses a section listed twice, an empty list and a non-list', () => {
    expect(problem([{ section: 'metrics', testSet: { kind: 'drive' } }, { section: 'metrics', testSet: { kind: 'drive' } }])).toBe(
      'evaluation[1].section: section "metrics" is listed twice',
    );
    expect(problem([])).toBe('evaluation: must list at least one section (or be left out)');
    expect(problem({ section: 'metrics' })).toBe('evaluation: must be a list of { "section", "testSet" } entries');
  });
});

describe('discoverEvaluations', () => {
  it('reads the shipped models\' evaluation lists', () => {
    const { targets, problems } = discoverEvaluations(modelsDir);
    expect(problems).toEqual([]);
    expect(targets).toEqual([
      { modelId: 'breast-us-28', section: 'metrics', testSet: { kind: 'medmnist', file: 'breastmnist.npz', positiveLabels: [0] } },
      { modelId: 'pneumonia-cxr-224', section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'rgb' } },
      { modelId: 'pneumonia-cxr-28', section: 'metrics', testSet: { kind: 'kermany-jpeg', colour: 'grey' } },
      { modelId: 'pneumonia-cxr-28', section: 'metrics.benchmark', testSet: { kind: 'medmnist', file: 'pneumoniamnist.npz', positiveLabels: [1] } },
      { modelId: 'retina-dr-28', section: 'metrics', testSet: { kind: 'medmnist', file: 'retinamnist.npz', positiveLabels: [2, 3, 4] } },
      { modelId: 'retina-vessels-drive', section: 'metrics', testSet: { kind: 'drive' } },
    ]);
  });

  it('leaves the shipped manifests valid for the service', () => {
    for (const { modelId } of discoverEvaluations(modelsDir).targets) {
      const dir = path.join(modelsDir, modelId);
      expect(parseManifest(readFileSync(path.join(dir, 'manifest.json'), 'utf8'), dir).evaluation?.length).toBeGreaterThan(0);
    }
  });

  it('lists a new model folder, skips folders without a list and reports an invalid list', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-plan-'));
    try {
      const folder = (name: string, manifest?: object): void => {
        mkdirSync(path.join(dir, name));
        if (manifest !== undefined) writeFileSync(path.join(dir, name, 'manifest.json'), JSON.stringify(manifest));
      };
      folder('_shared');
      folder('no-list', { id: 'no-list' });
      folder('new-model', { id: 'new-model', evaluation: [{ section: 'metrics', testSet: { kind: 'drive' } }] });
      folder('broken', { id: 'broken', evaluation: [{ section: 'metrics', testSet: { kind: 'nope' } }] });
      writeFileSync(path.join(dir, 'not-a-folder.json'), '{}');
      const { targets, problems } = discoverEvaluations(dir);
      expect(targets).toEqual([{ modelId: 'new-model', section: 'metrics', testSet: { kind: 'drive' } }]);
      expect(problems).toEqual([
        { modelId: 'broken', message: `${path.basename(dir)}/broken/manifest.json: evaluation[0].testSet.kind: kind must be one of "medmnist", "kermany-jpeg", "drive"` },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
