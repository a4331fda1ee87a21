/**
 * What every part of the configuration shares: the error that stops start-up, and the reading of
 * a setting that holds a JSON value or names a file holding it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Thrown for configuration the service must not start with. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses a JSON array given inline, or read from the file the value names.
 *
 * @param raw - the variable's value; empty or undefined gives []
 * @param name - the variable's name, for the messages
 * @param item - schema of one element
 * @throws ConfigError - naming the variable and the element that is wrong
 */
export function jsonListSetting<S extends z.ZodType>(raw: string | undefined, name: string, item: S): z.output<S>[] {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw.trim().startsWith('[') ? raw : readFileSync(raw, 'utf8'));
  } catch {
    throw new ConfigError(`${name} is neither a JSON array nor a readable JSON file`);
  }
  const parsed = z.array(item).safeParse(json);
  if (!parsed.success) throw new ConfigError(`${name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** A comma-separated list setting: trimmed, empty items dropped. */
export const csv = z
  .string()
  .optional()
  .transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0));
