/**
 * Renders a JSON template and parses what it produced: a template fault becomes REPORT_INVALID
 * instead of a SyntaxError far from its cause.
 */
import { AppError } from '../errors.js';
import type { TemplateSet } from './engine.js';

/**
 * @param templates - compiled templates
 * @param name - the template's name, e.g. `device.json`
 * @param view - the template's view data
 * @throws AppError REPORT_INVALID - when the template did not produce JSON
 */
export function renderJson<T>(templates: TemplateSet, name: string, view: unknown): T {
  const text = templates.render(name, view);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AppError('REPORT_INVALID', `template ${name} produced invalid JSON`, { cause: err });
  }
}
