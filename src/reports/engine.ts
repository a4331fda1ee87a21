/**
 * The template engine: the only module that imports Handlebars. Templates are compiled once at
 * start-up in strict mode (a missing variable is an error, not an empty string).
 *
 * JSON templates must put every interpolated value through `{{json x}}` (JSON.stringify):
 * that is what makes hostile strings (quotes, newlines, `{{`, non-ASCII) harmless. Plain
 * `{{x}}` in a JSON template would HTML-escape but not JSON-escape, so loading refuses JSON
 * templates that use it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';

export type TemplateFn = (data: unknown) => string;

export interface TemplateSet {
  /** Renders a template by name (file name without extension). */
  render(name: string, data: unknown): string;
  has(name: string): boolean;
  names(): string[];
}

/** Above the first a probability is shown as `> 99%`, below the second as `< 1%`. */
export const PERCENT_LIMITS = [0.01, 0.99] as const;

/**
 * Formats a probability in [0,1] as a percentage for people to read: one decimal between 1% and
 * 99% (`87.3%`), and `> 99%` / `< 1%` outside, because no model here is calibrated well enough
 * for "100.0%" or "0.0%" (certainty) to be true.
 */
export function percent(p: unknown): string {
  if (typeof p !== 'number' || !Number.isFinite(p)) throw new Error(`percent: not a number: ${String(p)}`);
  if (p > PERCENT_LIMITS[1]) return '> 99%';
  if (p < PERCENT_LIMITS[0]) return '< 1%';
  return `${(Math.round(p * 1000) / 10).toFixed(1)}%`;
}

/** Escapes Markdown control characters so user- or data-supplied text cannot format a card. */
export function markdownEscape(s: unknown): string {
  // Newlines go first: with none left, block syntax (lists, headings) can only start the value.
  return String(s).replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>#|~]/g, (c) => `\\${c}`);
}

/**
 * Strict mode does not check helper arguments, and `{{json missing}}` would quietly render
 * `null`: so helpers refuse `undefined` (view models use `null` for "intentionally absent").
 */
function defined(helper: string, value: unknown, options: Handlebars.HelperOptions): unknown {
  if (value === undefined) {
    const loc = (options as { loc?: { start?: { line?: number } } }).loc?.start?.line;
    throw new Error(`${helper}: argument is undefined (a missing template variable?)${loc === undefined ? '' : ` at line ${loc}`}`);
  }
  return value;
}

function registerHelpers(hb: typeof Handlebars): void {
  hb.registerHelper('json', (value: unknown, options: Handlebars.HelperOptions) => new hb.SafeString(JSON.stringify(defined('json', value, options))));
  hb.registerHelper('percent', (p: unknown, options: Handlebars.HelperOptions) => percent(defined('percent', p, options)));
  hb.registerHelper('md', (s: unknown, options: Handlebars.HelperOptions) => markdownEscape(defined('md', s, options)));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.map(String).join(typeof sep === 'string' ? sep : ', ') : ''));
  // Renders a nested block and JSON-encodes its text: for narrative/markdown inside JSON.
  hb.registerHelper('jsonBlock', function (this: unknown, options: Handlebars.HelperOptions) {
    return new hb.SafeString(JSON.stringify(options.fn(this).trim()));
  });
}

/** A `{{x}}` or `{{{x}}}` that is not a helper call or block tag, in a JSON template. */
const BARE_MUSTACHE = /\{\{\{?\s*(?![#/!>^]|else\b|json\b|jsonBlock\b)[^}]*\}?\}\}/g;

/**
 * Finds bare interpolations in a JSON template outside `{{#jsonBlock}}` blocks.
 *
 * @param source - the template text
 * @returns offending snippets
 */
export function unsafeJsonInterpolations(source: string): string[] {
  const outsideBlocks = source.replace(/\{\{#jsonBlock\}\}[\s\S]*?\{\{\/jsonBlock\}\}/g, '');
  return outsideBlocks.match(BARE_MUSTACHE) ?? [];
}

/**
 * Loads and compiles every `*.hbs` template in a folder. Templates named `*.json.hbs` render
 * JSON and are checked for bare interpolations; `*.md.hbs` render Markdown, `*.html.hbs` XHTML.
 *
 * @param dir - the templates folder
 */
export function loadTemplates(dir: string): TemplateSet {
  const hb = Handlebars.create();
  registerHelpers(hb);
  const compiled = new Map<string, TemplateFn>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hbs')).sort()) {
    const source = readFileSync(path.join(dir, file), 'utf8');
    const name = file.replace(/\.hbs$/, '');
    if (name.endsWith('.json')) {
      const unsafe = unsafeJsonInterpolations(source);
      if (unsafe.length > 0) throw new Error(`template ${file}: values in JSON templates must use {{json …}}: ${unsafe.join(', ')}`);
    }
    // strict: a typo in a variable name fails loudly instead of rendering an empty value.
    // noEscape for JSON/Markdown (escaping is done by json/md helpers); XHTML keeps HTML escaping.
    const options = { strict: true, noEscape: !name.endsWith('.html') };
    hb.precompile(source, options); // compile() is lazy: precompile makes syntax errors surface at start-up
    const fn = hb.compile(source, options);
    compiled.set(name, fn);
  }
  return {
    render(name, data) {
      const fn = compiled.get(name);
      if (fn === undefined) throw new Error(`no template named ${name}`);
      return fn(data);
    },
    has: (name) => compiled.has(name),
    names: () => [...compiled.keys()],
  };
}
