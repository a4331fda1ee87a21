/**
 * Finds what to evaluate: every model folder whose `manifest.json` has an `evaluation` list,
 * each entry naming a manifest section (`metrics` or `metrics.benchmark`) and the test set that
 * checks its numbers. Adding a model folder with such a list adds it to the check.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TestSetSchema } from './test-sets.js';
import type { TestSetSpec } from './test-sets.js';

/** The manifest sections whose numbers can be checked. */
export const SECTIONS = ['metrics', 'metrics.benchmark'] as const;

/** A manifest section whose numbers a test set checks. */
export type Section = (typeof SECTIONS)[number];

/** One entry of a manifest's `evaluation` list. */
const EvaluationEntrySchema = z.strictObject({
  section: z.enum(SECTIONS, `section must be ${SECTIONS.map((s) => `"${s}"`).join(' or ')}`),
  testSet: TestSetSchema,
});

/** A manifest's `evaluation` list: at least one entry, each section at most once. */
export const EvaluationListSchema = z
  .array(EvaluationEntrySchema, 'must be a list of { "section", "testSet" } entries')
  .min(1, 'must list at least one section (or be left out)')
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (seen.has(e.section)) ctx.addIssue({ code: 'custom', path: [i, 'section'], message: `section "${e.section}" is listed twice` });
      seen.add(e.section);
    });
  });

/** One manifest section to check, and the test set to check it on. */
export interface EvaluationTarget {
  /** The model folder's name, which is the model id the engine loads. */
  readonly modelId: string;
  readonly section: Section;
  readonly testSet: TestSetSpec;
}

/** A model folder whose `evaluation` list cannot be used, with the reason. */
export interface EvaluationProblem {
  readonly modelId: string;
  readonly message: string;
}

/** What {@link discoverEvaluations} found. */
export interface Discovered {
  /** In folder-name order, then list order. */
  readonly targets: readonly EvaluationTarget[];
  readonly problems: readonly EvaluationProblem[];
}

/** `evaluation[0].testSet.kind: …` for each issue, one per line. */
export function formatIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      return `${prefix}${where}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * Reads one manifest's `evaluation` list.
 *
 * @param json - the parsed manifest.json
 * @returns the entries (empty when the manifest has no `evaluation` field)
 * @throws Error naming each invalid field, e.g. `evaluation[1].testSet.positiveLabels: must name at least one label`
 */
export function parseEvaluationList(json: unknown): readonly z.infer<typeof EvaluationEntrySchema>[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('manifest.json is not a JSON object');
  const list: unknown = (json as Record<string, unknown>)['evaluation'];
  if (list === undefined) return [];
  const parsed = EvaluationListSchema.safeParse(list);
  if (!parsed.success) throw new Error(formatIssues(parsed.error, 'evaluation'));
  return parsed.data;
}

/**
 * Lists every model folder's evaluation targets (synchronous, so a test can declare its cases
 * from it). Folders without a manifest.json, and manifests without `evaluation`, are left out.
 *
 * @param modelsDir - the folder with one sub-folder per model (`models/`)
 * @throws only when `modelsDir` cannot be read
 */
export function discoverEvaluations(modelsDir: string): Discovered {
  const targets: EvaluationTarget[] = [];
  const problems: EvaluationProblem[] = [];
  const folders = readdirSync(modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const modelId of folders) {
    const file = path.join(modelsDir, modelId, 'manifest.json');
    if (!existsSync(file)) continue;
    try {
      const entries = parseEvaluationList(JSON.parse(readFileSync(file, 'utf8')));
      for (const e of entries) targets.push({ modelId, section: e.section, testSet: e.testSet });
    } catch (err) {
      problems.push({ modelId, message: `${path.join(path.basename(modelsDir), modelId, 'manifest.json')}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return { targets, problems };
}
