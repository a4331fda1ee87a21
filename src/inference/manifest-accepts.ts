/**
 * The `accepts` part of a model manifest: the images and patients the model was validated on
 * (models/MANIFEST.md). Every rule here is checked by the analysis layer before the model runs;
 * an absent rule means "no restriction", so a manifest written before a rule existed keeps
 * working, and the shipped manifests state each rule explicitly (a unit test checks that).
 */
import { z } from 'zod';

const text = z.string().min(1, 'must not be empty');
const dicomCodes = z.array(text).min(1, 'must list at least one value');
const years = z.number().min(0, 'must be ≥ 0').max(150, 'must be ≤ 150');
const millimetres = z.number().positive('must be > 0').max(100, 'must be ≤ 100');
const minDimension = z.int('must be an integer').min(1, 'must be at least 1').max(65535, 'must be at most 65535');

const AgeRuleSchema = z
  .strictObject({
    minYears: years.optional(),
    maxYears: years.optional(),
    unknown: z.enum(['accept', 'refuse'], 'must be accept or refuse'),
    basis: text,
  })
  .superRefine((rule, ctx) => {
    if (rule.minYears !== undefined && rule.maxYears !== undefined && rule.minYears > rule.maxYears) {
      ctx.addIssue({ code: 'custom', path: ['minYears'], message: `must be ≤ maxYears, got ${rule.minYears} > ${rule.maxYears}` });
    }
    // Refusing an unknown age only means something when there is a range to check it against.
    if (rule.minYears === undefined && rule.maxYears === undefined && rule.unknown === 'refuse') {
      ctx.addIssue({ code: 'custom', path: ['unknown'], message: 'refuse needs minYears or maxYears (without a range there is nothing to check)' });
    }
  });

const SpacingSchema = z.strictObject({ min: millimetres, max: millimetres }).superRefine((range, ctx) => {
  if (range.min > range.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must be ≤ max, got ${range.min} > ${range.max}` });
});

/** Zod schema of `accepts`; absent lists become [] so consumers test `length > 0` instead of undefined. */
export const AcceptsSchema = z.strictObject({
  modalities: dicomCodes,
  bodyParts: dicomCodes.optional().transform((v) => v ?? []),
  viewPositions: dicomCodes.optional().transform((v) => v ?? []),
  missingViewPosition: z.enum(['accept', 'refuse'], 'must be accept or refuse').default('accept'),
  photometricInterpretations: dicomCodes.optional().transform((v) => v ?? []),
  minRows: minDimension.default(1),
  minColumns: minDimension.default(1),
  pixelSpacingMm: SpacingSchema.optional(),
  patientAge: AgeRuleSchema.optional(),
});
