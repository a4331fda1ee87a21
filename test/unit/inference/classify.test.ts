import path from 'node:path';
import { probabilities, toFindings } from '../../../src/inference/classify.js';
import { parseManifest } from '../../../src/inference/manifest.js';
import { classifier, fixtureManifest, FIXTURE_MODELS, sigmoid } from './support/models.js';

const mean = classifier(parseManifest(fixtureManifest('tiny-mean'), path.join(FIXTURE_MODELS, 'tiny-mean')));
const rgb = classifier(parseManifest(fixtureManifest('tiny-rgb'), path.join(FIXTURE_MODELS, 'tiny-rgb')));

function closeTo(actual: ArrayLike<number>, wanted: readonly number[]): void {
  expect(actual).toHaveLength(wanted.length);
  wanted.forEach((w, i) => {
    expect(actual[i]).toBeCloseTo(w, 15);
  });
}

describe('probabilities', () => {
  it('Applies softmax over all labels', () => {
    const p = probabilities({ activation: 'softmax', temperature: 1 }, [1, 2, 3]);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    closeTo(p, [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z]);
  });

  it('Divides logits by the temperature before the activation', () => {
    expect(probabilities({ activation: 'softmax', temperature: 2 }, [0, 4])[1]).toBeCloseTo(sigmoid(2), 15);
    closeTo(probabilities({ activation: 'sigmoid', temperature: 2 }, [-2, 0, 6]), [sigmoid(-1), 0.5, sigmoid(3)]);
  });

  it('Stays finite for extreme logits', () => {
    expect(Array.from(probabilities({ activation: 'softmax', temperature: 1 }, [1000, -1000]))).toEqual([1, 0]);
    expect(Array.from(probabilities({ activation: 'sigmoid', temperature: 1 }, [-1000, 1000]))).toEqual([0, 1]);
  });

  it('Refuses non-finite logits with INFERENCE_FAILED', () => {
    let thrown: unknown;
    try {
      probabilities({ activation: 'softmax', temperature: 1 }, [0, Number.NaN]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'AppError', code: 'INFERENCE_FAILED', message: 'The model produced a non-finite output.' });
  });
});

describe('toFindings', () => {
  const pneumonia = (logit: number) => toFindings(mean.output, [0, logit])[0];

  it('Reports only labels with report: true, with their codes, threshold and review band', () => {
    const findings = toFindings(mean.output, [0, 2]);
    expect(findings).toEqual([
      {
        key: 'finding',
        display: 'Finding',
        codes: [{ system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' }],
        probability: sigmoid(2),
        threshold: 0.5,
        reviewBand: [0.35, 0.65],
        interpretation: 'positive',
        needsReview: false,
        urgency: 'warning',
      },
    ]);
  });

  it('Calls a probability at the threshold positive, below it negative', () => {
    expect(pneumonia(0)).toMatchObject({ probability: 0.5, interpretation: 'positive' });
    expect(pneumonia(-0.01)).toMatchObject({ interpretation: 'negative' });
  });

  it('Flags review inside the band, inclusive at both ends', () => {
    const logitFor = (p: number): number => Math.log(p / (1 - p));
    expect(pneumonia(logitFor(0.35))?.needsReview).toBe(true);
    expect(pneumonia(logitFor(0.65))?.needsReview).toBe(true);
    expect(pneumonia(logitFor(0.349))?.needsReview).toBe(false);
    expect(pneumonia(logitFor(0.651))?.needsReview).toBe(false);
  });

  it('Gives one finding per reported label with its own urgency, in label order', () => {
    const findings = toFindings(rgb.output, [2, 0, -2]);
    expect(findings.map((f) => [f.key, f.interpretation, f.needsReview, f.urgency])).toEqual([
      ['red', 'positive', false, 'info'],
      ['green', 'positive', true, 'warning'],
      ['blue', 'negative', false, 'critical'],
    ]);
    expect(findings[0]?.probability).toBeCloseTo(sigmoid(1), 15); // temperature 2
  });
});

describe('follow-up recommendations', () => {
  const withFollowUp = (when: 'positive' | 'positive-or-review') => {
    const json = fixtureManifest('tiny-mean') as { output: { labels: Record<string, unknown>[] } };
    const label = json.output.labels[1];
    if (label !== undefined) label.followUp = { code: { system: 'http://loinc.org', code: '36643-5', display: 'XR Chest 2V' }, text: 'Follow-up chest radiograph', when };
    return classifier(parseManifest(json, path.join(FIXTURE_MODELS, 'tiny-mean')));
  };
  // tiny-mean: threshold 0.5, review band [0.35, 0.65]; logit 3 → p 0.95, logit 0 → p 0.5 (band), logit -3 → p 0.05.
  it('attaches the follow-up to a clearly positive finding only, by default', () => {
    const m = withFollowUp('positive');
    expect(toFindings(m.output, [0, 3])[0]?.followUp?.text).toBe('Follow-up chest radiograph');
    expect(toFindings(m.output, [0, 0])[0]?.followUp).toBeUndefined();
    expect(toFindings(m.output, [0, -3])[0]?.followUp).toBeUndefined();
  });

  it('also attaches it inside the review band when the manifest says so', () => {
    const m = withFollowUp('positive-or-review');
    expect(toFindings(m.output, [0, 0])[0]?.followUp?.code.code).toBe('36643-5');
    expect(toFindings(m.output, [0, -3])[0]?.followUp).toBeUndefined();
  });

  it('rejects a follow-up without a code', () => {
    const json = fixtureManifest('tiny-mean') as { output: { labels: Record<string, unknown>[] } };
    const label = json.output.labels[1];
    if (label !== undefined) label.followUp = { text: 'x', when: 'positive' };
    expect(() => parseManifest(json, path.join(FIXTURE_MODELS, 'tiny-mean'))).toThrow(/followUp\.code/);
  });
});
