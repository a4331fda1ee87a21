/**
 * Sample radiographs as a child's: the samples carry an empty PatientBirthDate, and a PACS
 * trigger knows the patient's age only from the image, while the chest models refuse an unknown
 * age. Born 1996-06-01, imaged on the samples' StudyDate 2000-01-01: 3 years old, inside the
 * models' validated ages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, sampleFiles } from './stack.js';

/** (0010,0030) PatientBirthDate, DA, empty, in explicit VR little endian. */
const EMPTY_BIRTH_DATE = Buffer.from([0x10, 0x00, 0x30, 0x00, 0x44, 0x41, 0x00, 0x00]);
const BIRTH_DATE = Buffer.concat([Buffer.from([0x10, 0x00, 0x30, 0x00, 0x44, 0x41, 0x08, 0x00]), Buffer.from('19960601', 'latin1')]);

/** The sample files whose birth date can be filled in (explicit VR little endian, one empty element). */
export function childSampleFiles(): string[] {
  return sampleFiles().filter((f) => readFileSync(path.join(FIXTURES, f)).includes(EMPTY_BIRTH_DATE));
}

/**
 * The sample with the child's birth date filled in.
 *
 * @throws Error when the file has not exactly one empty PatientBirthDate in explicit VR little endian
 */
export function withChildBirthDate(bytes: Uint8Array): Buffer {
  const buf = Buffer.from(bytes);
  const at = buf.indexOf(EMPTY_BIRTH_DATE);
  if (at < 0 || buf.indexOf(EMPTY_BIRTH_DATE, at + 1) >= 0) throw new Error('the sample must have exactly one empty PatientBirthDate (explicit VR little endian)');
  return Buffer.concat([buf.subarray(0, at), BIRTH_DATE, buf.subarray(at + EMPTY_BIRTH_DATE.length)]);
}
