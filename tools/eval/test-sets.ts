/**
 * The registry of test-set kinds a manifest's `evaluation` list may name. Each kind has a zod
 * schema for its description (`testSet` in the manifest) and a reader in its own module; adding
 * a kind means adding its schema to {@link TestSetSchema} and a case to {@link resolveTestSet}.
 */
import { z } from 'zod';
import { DriveTestSetSchema, drivePath, readDrive } from './drive.js';
import { KermanyTestSetSchema, kermanyPath, readKermany } from './kermany.js';
import { MedmnistTestSetSchema, medmnistPath, readMedmnist } from './medmnist.js';
import type { LabelledImages, SegmentationCases } from './test-set-types.js';

/** One schema per kind: the registry. */
const KIND_SCHEMAS = [MedmnistTestSetSchema, KermanyTestSetSchema, DriveTestSetSchema] as const;

/** The test-set kinds, in the order error messages list them. */
export const TEST_SET_KINDS: readonly string[] = KIND_SCHEMAS.map((s) => s.shape.kind.value);

/** A manifest's `testSet`: one of the registered kinds, with that kind's fields. */
export const TestSetSchema = z.discriminatedUnion('kind', KIND_SCHEMAS, {
  // Reached only when no kind matches; a matched kind reports its own fields' issues.
  error: (issue) =>
    issue.input !== null && typeof issue.input === 'object'
      ? `kind must be one of ${TEST_SET_KINDS.map((k) => `"${k}"`).join(', ')}`
      : 'must be an object with a "kind"',
});

/** A parsed test-set description. */
export type TestSetSpec = z.infer<typeof TestSetSchema>;

/** A classification test set ready to read. */
export interface ClassificationTestSet {
  readonly task: 'classification';
  /** The file or folder the reader needs: when it is missing the test set cannot be read. */
  readonly dataPath: string;
  readonly read: () => Promise<LabelledImages>;
}

/** A segmentation test set ready to read. */
export interface SegmentationTestSet {
  readonly task: 'segmentation';
  /** The file or folder the reader needs. */
  readonly dataPath: string;
  readonly read: () => Promise<SegmentationCases>;
}

/** A test set resolved against a data folder: which kind of model it checks, where it is, its reader. */
export type ResolvedTestSet = ClassificationTestSet | SegmentationTestSet;

/**
 * Binds a test-set description to the data folder.
 *
 * @param spec - a description parsed with {@link TestSetSchema}
 * @param dataDir - the shared data folder
 */
export function resolveTestSet(spec: TestSetSpec, dataDir: string): ResolvedTestSet {
  switch (spec.kind) {
    case 'medmnist':
      return { task: 'classification', dataPath: medmnistPath(dataDir, spec), read: () => readMedmnist(dataDir, spec) };
    case 'kermany-jpeg':
      return { task: 'classification', dataPath: kermanyPath(dataDir), read: () => readKermany(dataDir, spec) };
    case 'drive':
      return { task: 'segmentation', dataPath: drivePath(dataDir), read: () => readDrive(dataDir) };
  }
}
