import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManifestError, parseManifest } from '../../../src/inference/manifest.js';
import type { ManifestIssue } from '../../../src/inference/manifest.js';
import { classifier, edit, fixtureManifest, FIXTURE_MODELS, REMOVE } from './support/models.js';
import type { JsonObject } from './support/models.js';

const DIR = path.join(FIXTURE_MODELS, 'tiny-mean');
const valid = fixtureManifest('tiny-mean');

/** The issues parseManifest reports for a value, or a failure when it accepts it. */
function issuesOf(value: unknown, dir = DIR): readonly ManifestIssue[] {
  try {
    parseManifest(value, dir);
  } catch (err) {
    if (err instanceof ManifestError) return err.issues;
    throw err;
  }
  throw new Error('the manifest was accepted');
}

describe('parseManifest', () => {
  it('Accepts the documented format and resolves the model file in its folder', () => {
    const m = classifier(parseManifest(JSON.stringify(valid), DIR));
    expect(m).toMatchObject({
      id: 'tiny-mean',
      dir: DIR,
      modelPath: path.join(DIR, 'model.onnx'),
      input: { width: 8, height: 8, channels: 1, windowing: { kind: 'dicom' }, normalization: { mean: [0.5], std: [0.5] } },
      output: { activation: 'softmax', temperature: 1 },
      accepts: { modalities: ['CR', 'DX'], bodyParts: ['CHEST'], viewPositions: ['PA', 'AP'] },
    });
    const finding = m.output.labels[1];
    expect(finding).toMatchObject({ report: true, threshold: 0.5, reviewBand: [0.35, 0.65], urgency: 'warning' });
  });

  it('Accepts the example in models/MANIFEST.md, so the documented format and the schema agree', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../models/MANIFEST.md', import.meta.url)), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const m = classifier(parseManifest(example, '/models/pneumonia-cxr-28'));
    expect(m.output.labels[1]).toMatchObject({ key: 'pneumonia', threshold: 0.5, reviewBand: [0.35, 0.65], urgency: 'warning' });
    expect(m.metrics).toMatchObject({ auc: 0.95, auc95: [0.93, 0.97] });
  });

  it('Returns a deeply frozen manifest, so no consumer can change what another sees', () => {
    const m = classifier(parseManifest(valid, DIR));
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.output.labels[1])).toBe(true);
    expect(Object.isFrozen(m.input.normalization.mean)).toBe(true);
  });

  it('Treats a missing temperature as 1, and missing validated-use rules as "no restriction"', () => {
    let value = edit(valid, 'output.temperature', REMOVE);
    value = edit(value, 'accepts.bodyParts', REMOVE);
    value = edit(value, 'accepts.viewPositions', REMOVE);
    const m = parseManifest(value, DIR);
    expect(m.output.temperature).toBe(1);
    // An older manifest keeps loading: no view, photometric, size, spacing or age rule.
    expect(m.accepts).toEqual({ modalities: ['CR', 'DX'], bodyParts: [], viewPositions: [], missingViewPosition: 'accept', photometricInterpretations: [], minRows: 1, minColumns: 1 });
  });

  it('Accepts fixed windowing and keeps extra metrics from training', () => {
    let value = edit(valid, 'input.windowing', { kind: 'fixed', center: 40, width: 400 });
    value = edit(value, 'metrics', { dataset: 'x', auc: 0.9, auc95: [0.85, 0.95], brier: 0.1 });
    const m = parseManifest(value, DIR);
    expect(m.input.windowing).toEqual({ kind: 'fixed', center: 40, width: 400 });
    expect(m.metrics).toMatchObject({ dataset: 'x', auc: 0.9, auc95: [0.85, 0.95] });
  });

  it('Rejects text that is not JSON, saying so', () => {
    const issues = issuesOf('{"schemaVersion": 1,');
    expect(issues.map((i) => i.path)).toEqual(['(root)']);
    expect(issues[0]?.message).toMatch(/^not valid JSON: /);
  });

  // One row per rule: the change, and the exact issue it must produce.
  const cases: [string, JsonObject, ManifestIssue][] = [
    ['an unknown schema version', edit(valid, 'schemaVersion', 2), { path: 'schemaVersion', message: 'must be 1' }],
    ['a missing required field', edit(valid, 'intendedUse', REMOVE), { path: 'intendedUse', message: 'Invalid input: expected string, received undefined' }],
    ['a misspelt field (strict objects catch typos)', edit(valid, 'output.labels.1.treshold', 0.5), { path: 'output.labels[1]', message: 'Unrecognized key: "treshold"' }],
    ['an id that is not a folder-safe name', edit(valid, 'id', 'Tiny Mean'), { path: 'id', message: 'must be lower-case letters, digits, ".", "_" or "-"' }],
    ['a version that is not semantic', edit(valid, 'version', 'v1'), { path: 'version', message: 'must be a semantic version like 1.0.0' }],
    ['an unknown task', edit(valid, 'task', 'detection'), { path: 'task', message: 'task must be "classification" or "segmentation"' }],
    ['a model file outside the folder', edit(valid, 'file', '../other/model.onnx'), { path: 'file', message: 'must be a file name inside the model folder ending in .onnx' }],
    ['no modalities', edit(valid, 'accepts.modalities', []), { path: 'accepts.modalities', message: 'must list at least one value' }],
    ['a channel count other than 1 or 3', edit(valid, 'input.channels', 2), { path: 'input.channels', message: 'must be 1 or 3' }],
    ['a non-integer width', edit(valid, 'input.width', 7.5), { path: 'input.width', message: 'must be an integer' }],
    ['an unknown windowing kind', edit(valid, 'input.windowing', { kind: 'auto' }), { path: 'input.windowing.kind', message: 'kind must be dicom, fixed or minmax' }],
    ['a fixed window without a positive width', edit(valid, 'input.windowing', { kind: 'fixed', center: 40, width: 0 }), { path: 'input.windowing.width', message: 'must be > 0' }],
    ['an unknown resize method', edit(valid, 'input.resize', 'nearest'), { path: 'input.resize', message: 'must be "area" or "fov-diameter"' }],
    ['a zero std (division by zero)', edit(valid, 'input.normalization.std', [0]), { path: 'input.normalization.std[0]', message: 'must be > 0' }],
    ['normalisation values not one per channel', edit(valid, 'input.normalization.mean', [0.5, 0.5]), { path: 'input.normalization.mean', message: 'has 2 values but input.channels is 1' }],
    ['an unknown activation', edit(valid, 'output.activation', 'relu'), { path: 'output.activation', message: 'must be softmax or sigmoid' }],
    ['a non-positive temperature', edit(valid, 'output.temperature', 0), { path: 'output.temperature', message: 'must be > 0' }],
    ['a threshold above 1', edit(valid, 'output.labels.1.threshold', 1.5), { path: 'output.labels[1].threshold', message: 'must be within [0, 1]' }],
    ['a threshold below 0', edit(valid, 'output.labels.1.threshold', -0.1), { path: 'output.labels[1].threshold', message: 'must be within [0, 1]' }],
    ['a reported label without threshold', edit(valid, 'output.labels.1.threshold', REMOVE), { path: 'output.labels[1].threshold', message: 'required when report is true' }],
    ['a reported label without codes', edit(valid, 'output.labels.1.codes', REMOVE), { path: 'output.labels[1].codes', message: 'required when report is true' }],
    ['a reported label with an empty code list', edit(valid, 'output.labels.1.codes', []), { path: 'output.labels[1].codes', message: 'a label with report: true needs at least one code' }],
    ['a reported label without urgency', edit(valid, 'output.labels.1.urgency', REMOVE), { path: 'output.labels[1].urgency', message: 'required when report is true' }],
    ['an unknown urgency', edit(valid, 'output.labels.1.urgency', 'hard-stop'), { path: 'output.labels[1].urgency', message: 'must be info, warning or critical' }],
    ['a reported label without review band', edit(valid, 'output.labels.1.reviewBand', REMOVE), { path: 'output.labels[1].reviewBand', message: 'required when report is true' }],
    ['a review band that excludes the threshold', edit(valid, 'output.labels.1.reviewBand', [0.6, 0.7]), { path: 'output.labels[1].reviewBand', message: 'must satisfy low ≤ threshold ≤ high, got [0.6, 0.7] with threshold 0.5' }],
    ['a review band with low above high', edit(valid, 'output.labels.1.reviewBand', [0.65, 0.35]), { path: 'output.labels[1].reviewBand', message: 'must satisfy low ≤ threshold ≤ high, got [0.65, 0.35] with threshold 0.5' }],
    ['a review band outside [0, 1]', edit(valid, 'output.labels.1.reviewBand', [0.35, 1.2]), { path: 'output.labels[1].reviewBand[1]', message: 'must be within [0, 1]' }],
    ['a code without system', edit(valid, 'output.labels.1.codes.0.system', ''), { path: 'output.labels[1].codes[0].system', message: 'must not be empty' }],
    ['a label with neither report true nor false', edit(valid, 'output.labels.0.report', 'yes'), { path: 'output.labels[0].report', message: 'report must be true or false' }],
    ['two labels with one index', edit(valid, 'output.labels.1.index', 0), { path: 'output.labels[1].index', message: '0 is already used by output.labels[0]' }],
    ['a label index outside the output', edit(valid, 'output.labels.1.index', 2), { path: 'output.labels[1].index', message: '2 is outside the model output (2 labels → indices 0..1)' }],
    ['two labels with one key', edit(valid, 'output.labels.1.key', 'normal'), { path: 'output.labels[1].key', message: '"normal" is already used by output.labels[0]' }],
    ['no reported label', edit(valid, 'output.labels.1', { index: 1, key: 'finding', display: 'Finding', report: false }), { path: 'output.labels', message: 'no label has report: true, so the model can never produce a finding' }],
    ['softmax over a single label', edit(valid, 'output.labels.0', REMOVE), { path: 'output.activation', message: 'softmax needs at least two labels (it would always give 1)' }],
    ['a metric outside [0, 1]', edit(valid, 'metrics.auc', 95), { path: 'metrics.auc', message: 'must be within [0, 1]' }],
    ['an unknown missing-view policy', edit(valid, 'accepts.missingViewPosition', 'warn'), { path: 'accepts.missingViewPosition', message: 'must be accept or refuse' }],
    ['an empty photometric list', edit(valid, 'accepts.photometricInterpretations', []), { path: 'accepts.photometricInterpretations', message: 'must list at least one value' }],
    ['a fractional minimum size', edit(valid, 'accepts.minRows', 22.5), { path: 'accepts.minRows', message: 'must be an integer' }],
    ['a pixel spacing range upside down', edit(valid, 'accepts.pixelSpacingMm', { min: 0.3, max: 0.1 }), { path: 'accepts.pixelSpacingMm.min', message: 'must be ≤ max, got 0.3 > 0.1' }],
    ['an age range upside down', edit(valid, 'accepts.patientAge', { minYears: 6, maxYears: 1, unknown: 'refuse', basis: 'b' }), { path: 'accepts.patientAge.minYears', message: 'must be ≤ maxYears, got 6 > 1' }],
    ['an age rule without its basis', edit(valid, 'accepts.patientAge', { minYears: 1, unknown: 'refuse' }), { path: 'accepts.patientAge.basis', message: 'Invalid input: expected string, received undefined' }],
    ['an unknown-age policy other than accept or refuse', edit(valid, 'accepts.patientAge', { minYears: 1, unknown: 'ask', basis: 'b' }), { path: 'accepts.patientAge.unknown', message: 'must be accept or refuse' }],
    ['refusing unknown ages with no range to check', edit(valid, 'accepts.patientAge', { unknown: 'refuse', basis: 'b' }), { path: 'accepts.patientAge.unknown', message: 'refuse needs minYears or maxYears (without a range there is nothing to check)' }],
  ];

  it.each(cases)('Rejects %s with a message at its path', (_name, value, issue) => {
    expect(issuesOf(value)).toContainEqual(issue);
  });

  it('Rejects a manifest whose id is not its folder name', () => {
    expect(issuesOf(valid, path.join(FIXTURE_MODELS, 'other'))).toEqual([{ path: 'id', message: '"tiny-mean" does not match its folder name "other"' }]);
  });

  it('Lists every issue at once, on one line, so /readyz shows the whole problem', () => {
    let value = edit(valid, 'output.labels.1.threshold', 1.5);
    value = edit(value, 'input.channels', 2);
    expect(issuesOf(value)).toEqual([
      { path: 'input.channels', message: 'must be 1 or 3' },
      { path: 'output.labels[1].threshold', message: 'must be within [0, 1]' },
    ]);
    expect(() => parseManifest(value, DIR)).toThrow(
      /^invalid manifest: input\.channels: must be 1 or 3; output\.labels\[1\]\.threshold: must be within \[0, 1\]$/,
    );
  });

  it('Accepts the 3-channel sigmoid fixture with per-channel normalisation', () => {
    const m = classifier(parseManifest(fixtureManifest('tiny-rgb'), path.join(FIXTURE_MODELS, 'tiny-rgb')));
    expect(m.input.channels).toBe(3);
    expect(m.output.labels.map((l) => l.report && l.urgency)).toEqual(['info', 'warning', 'critical']);
  });
});
