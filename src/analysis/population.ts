/**
 * The patient's age at the study, and whether it lies in the range a model was validated on.
 *
 * Age is taken at the study date, never today: a radiograph taken at four stays a four-year-old's
 * radiograph. Sources, first decisive one wins: the EHR's Patient.birthDate (with
 * ImagingStudy.started, else the image's StudyDate), then the image's Patient's Age (0010,1010),
 * then its Patient's Birth Date (0010,0030) with its Study Date (0008,0020). Every age is an
 * interval of completed years, because FHIR allows a birth date of `2021` and DICOM an age of
 * `018M`: it is inside a range only when the whole interval is, outside only when the whole
 * interval is, and otherwise unknown. Nothing here logs or returns the age itself.
 */
import type { AgeRule } from '../inference/index.js';
import type { AgeSource } from './types.js';

/** Completed years at the study date: the patient was at least `low` and at most `high`. */
export interface AgeInterval {
  readonly low: number;
  readonly high: number;
}

interface Day {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

const DAY = /^(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?$/;

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * The earliest and latest calendar day a date may stand for.
 *
 * @param text - FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or the date part of a dateTime) or DICOM DA (`YYYYMMDD`)
 * @returns undefined when the text is not such a date or names no real day
 */
export function dayRange(text: string | undefined): readonly [Day, Day] | undefined {
  const match = DAY.exec(text?.trim().slice(0, 10) ?? '');
  if (match === null) return undefined;
  const y = Number(match[1]);
  if (match[2] === undefined) return [{ y, m: 1, d: 1 }, { y, m: 12, d: 31 }];
  const m = Number(match[2]);
  if (m < 1 || m > 12) return undefined;
  if (match[3] === undefined) return [{ y, m, d: 1 }, { y, m, d: daysInMonth(y, m) }];
  const d = Number(match[3]);
  if (d < 1 || d > daysInMonth(y, m)) return undefined;
  return [{ y, m, d }, { y, m, d }];
}

/** Completed years from `birth` to `at` (a 29 February birthday completes a year on 1 March). */
function completedYears(birth: Day, at: Day): number {
  const beforeBirthday = at.m < birth.m || (at.m === birth.m && at.d < birth.d);
  return at.y - birth.y - (beforeBirthday ? 1 : 0);
}

/**
 * Age at the study from a birth date.
 *
 * @param birthDate - FHIR date or DICOM DA
 * @param studyDate - FHIR date/dateTime or DICOM DA of the study
 * @returns undefined when either date is missing or invalid, or the birth is after the study
 */
export function ageFromBirthDate(birthDate: string | undefined, studyDate: string | undefined): AgeInterval | undefined {
  const birth = dayRange(birthDate);
  const study = dayRange(studyDate);
  if (birth === undefined || study === undefined) return undefined;
  const low = completedYears(birth[1], study[0]);
  const high = completedYears(birth[0], study[1]);
  return high < 0 ? undefined : { low: Math.max(0, low), high };
}

/**
 * Age from DICOM Patient's Age (AS: `nnnD`, `nnnW`, `nnnM` or `nnnY`).
 *
 * @param value - the attribute's value
 * @returns undefined for anything that is not a well-formed AS value
 */
export function ageFromDicomAge(value: string | undefined): AgeInterval | undefined {
  const match = /^(\d{3})([DWMY])$/.exec(value?.trim().toUpperCase() ?? '');
  if (match === null) return undefined;
  const n = Number(match[1]);
  const unit = match[2];
  if (unit === 'Y') return { low: n, high: n };
  if (unit === 'M') return { low: Math.floor(n / 12), high: Math.floor(n / 12) };
  // n weeks: 7n to 7n + 6 days old; n days: exactly n. A year is 365 or 366 days.
  const [fewest, most] = unit === 'W' ? [7 * n, 7 * n + 6] : [n, n];
  return { low: Math.floor(fewest / 366), high: Math.floor(most / 365) };
}

/** What is known about the patient's age, from the EHR and (once fetched) the image header. */
export interface AgeEvidence {
  /** Patient.birthDate from the EHR. */
  readonly birthDate?: string | undefined;
  /** ImagingStudy.started from the EHR. */
  readonly studyDate?: string | undefined;
  /** The analysed image's header, absent before it is fetched. */
  readonly header?: { readonly patientAge?: string | undefined; readonly patientBirthDate?: string | undefined; readonly studyDate?: string | undefined } | undefined;
}

export type AgeVerdict = { readonly state: 'inside' | 'outside'; readonly from: AgeSource } | { readonly state: 'unknown' };

/** True when the rule restricts age at all. */
export const restrictsAge = (rule: AgeRule | undefined): rule is AgeRule => rule !== undefined && (rule.minYears !== undefined || rule.maxYears !== undefined);

function judge(rule: AgeRule, age: AgeInterval | undefined): 'inside' | 'outside' | 'unknown' {
  if (age === undefined) return 'unknown';
  const min = rule.minYears ?? Number.NEGATIVE_INFINITY;
  const max = rule.maxYears ?? Number.POSITIVE_INFINITY;
  if (age.high < min || age.low > max) return 'outside';
  if (age.low >= min && age.high <= max) return 'inside';
  return 'unknown';
}

/**
 * Whether the patient's age at the study is inside the rule's range.
 *
 * @param rule - the model's age rule (one that restricts age)
 * @param evidence - what is known so far
 * @returns inside or outside with the source that decided it, or unknown
 */
export function judgeAge(rule: AgeRule, evidence: AgeEvidence): AgeVerdict {
  const { header } = evidence;
  const candidates: [AgeSource, AgeInterval | undefined][] = [
    ['fhir', ageFromBirthDate(evidence.birthDate, evidence.studyDate ?? header?.studyDate)],
    ['dicom', ageFromDicomAge(header?.patientAge)],
    ['dicom', ageFromBirthDate(header?.patientBirthDate, header?.studyDate ?? evidence.studyDate)],
  ];
  for (const [from, age] of candidates) {
    const state = judge(rule, age);
    if (state !== 'unknown') return { state, from };
  }
  return { state: 'unknown' };
}

/** The rule's range in words, e.g. "ages 1–5 years". */
export function describeAgeRange(rule: AgeRule): string {
  if (rule.minYears !== undefined && rule.maxYears !== undefined) return `ages ${rule.minYears}–${rule.maxYears} years`;
  if (rule.minYears !== undefined) return `ages ${rule.minYears} years and over`;
  return `ages up to ${rule.maxYears ?? '?'} years`;
}
