/**
 * The segmentation-specific parts of a model manifest (models/MANIFEST.md): the field-of-view
 * resize of the input (`input.resize: "fov-diameter"` with `input.fieldOfView`) and a class's
 * stated measurement error (`output.classes[].measurementError`).
 */
import { z } from 'zod';

const text = z.string().min(1, 'must not be empty');
const fraction = z.number().min(0, 'must be within [0, 1]').max(1, 'must be within [0, 1]');

/** `input.fieldOfView`: how `fov-diameter` finds the field of view and what size it is brought to. */
export const FovResizeSchema = z.strictObject({
  diameter: z.int('must be an integer').min(1, 'must be at least 1').max(4096, 'must be at most 4096'),
  minIntensity: fraction,
  chordFraction: z.number().gt(0, 'must be within (0, 1]').max(1, 'must be within (0, 1]').default(0.1),
  tolerance: z.number().min(0, 'must be within [0, 0.5]').max(0.5, 'must be within [0, 0.5]').default(0),
  pixelSpacingMm: z.number().positive('must be > 0').optional(),
});

/** `output.classes[].measurementError`, as fractions of the field of view. */
export const MeasurementErrorSchema = z.strictObject({
  meanAbsolute: fraction,
  bias: z.number().min(-1, 'must be within [-1, 1]').max(1, 'must be within [-1, 1]'),
  basis: text,
});

/** The error of a measured share of the field of view against a reference, as fractions (0.01 = 1 percentage point). */
export interface MeasurementError {
  /** Mean absolute error. */
  readonly meanAbsolute: number;
  /** Mean signed error (measured − reference): negative when the model measures less. */
  readonly bias: number;
  /** Where it was measured, one sentence (images, reference, threshold). */
  readonly basis: string;
}

type Issue = { path: (string | number)[]; message: string };

/** The rules between `input.resize`, `input.fieldOfView`, the input size and the task. */
export function fovResizeIssues(
  input: { readonly resize: string; readonly width: number; readonly height: number; readonly fieldOfView?: { readonly diameter: number } | undefined },
  task: string,
): Issue[] {
  const { resize, fieldOfView, width, height } = input;
  const issues: Issue[] = [];
  if (resize === 'fov-diameter' && fieldOfView === undefined) issues.push({ path: ['input', 'fieldOfView'], message: 'required when resize is "fov-diameter"' });
  if (resize !== 'fov-diameter' && fieldOfView !== undefined) issues.push({ path: ['input', 'fieldOfView'], message: 'only allowed when resize is "fov-diameter"' });
  if (fieldOfView !== undefined && fieldOfView.diameter > Math.min(width, height)) {
    issues.push({ path: ['input', 'fieldOfView', 'diameter'], message: `${fieldOfView.diameter} does not fit the ${width}×${height} input` });
  }
  if (resize === 'fov-diameter' && task !== 'segmentation') issues.push({ path: ['input', 'resize'], message: '"fov-diameter" is for segmentation models (their output is mapped back onto the image)' });
  return issues;
}
