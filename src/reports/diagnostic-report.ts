/**
 * The preliminary DiagnosticReport of one result: its narrative (the model's report template),
 * the same narrative as an HTML attachment, and the overlay PNG when the model made a map.
 */
import { createHash } from 'node:crypto';
import type { Attachment, DiagnosticReport } from 'fhir/r4.js';
import { ANALYSED_IMAGE_TITLE, DICOM_UID_SYSTEM, PROFILES } from '../terminology.js';
import type { TemplateSet } from './engine.js';
import { flaggedUnfamiliar, stateOf } from './finding-text.js';
import { renderJson } from './render-json.js';
import type { ResultContext } from './result-context.js';
import type { Finding, RenderInput, ReportOverlay } from './types.js';

/**
 * The report's attachments: the rendered HTML, and the overlay PNG (with the image alone) when the model made a map.
 * Each states its size and SHA-1 so a receiver can check what it stores.
 */
function presentedForms(html: Buffer, overlay: ReportOverlay | undefined): Attachment[] {
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('base64');
  const forms: Attachment[] = [
    { contentType: 'text/html; charset=utf-8', language: 'en', data: html.toString('base64'), size: html.length, hash: sha1(html), title: 'Preliminary AI image analysis report' },
  ];
  if (overlay !== undefined) {
    const png = Buffer.from(overlay.png, 'base64');
    forms.push({ contentType: 'image/png', data: overlay.png, size: png.length, hash: sha1(png), title: `${overlay.title} (preliminary AI output, not a diagnosis)` });
    if (overlay.basePng !== undefined) {
      // The same picture without the map: a viewer can fade the map in and out over it.
      const base = Buffer.from(overlay.basePng, 'base64');
      forms.push({ contentType: 'image/png', data: overlay.basePng, size: base.length, hash: sha1(base), title: ANALYSED_IMAGE_TITLE });
    }
  }
  return forms;
}

/**
 * @param templates - compiled templates
 * @param input - the result
 * @param ctx - its shared ids and references (Observations already listed)
 * @param view - the view data the model's report template renders
 * @param conclusion - the report's conclusion text
 */
export function buildDiagnosticReport(templates: TemplateSet, input: RenderInput, ctx: ResultContext, view: object, conclusion: string): DiagnosticReport {
  const narrative = templates.render(`${input.model.templates.report}.html`, view).trim();
  const html = Buffer.from(`<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="utf-8"/><title>Preliminary AI image analysis</title></head><body>${narrative}</body></html>`, 'utf8');
  // An image unlike the validation images gets no coded conclusion: the text says why.
  const positives = flaggedUnfamiliar(input.findings) === undefined ? input.findings.filter((f: Finding) => stateOf(f) === 'positive') : [];
  return renderJson<DiagnosticReport>(templates, 'diagnostic-report.json', {
    ids: { report: ctx.reportId },
    identifiers: { report: ctx.resultKey },
    systems: ctx.systems,
    profiles: PROFILES,
    refs: ctx.refs,
    issued: input.issued,
    conclusion,
    conclusionCodes: positives.length === 0 ? null : positives.map((f) => ({ coding: f.codes, text: f.display })),
    presentedForms: presentedForms(html, input.overlay),
    // The SR in the PACS carries the same measurements: its UID lets a receiver find it.
    pacsIdentifiers: input.pacsObjects === undefined ? null : [{ system: DICOM_UID_SYSTEM, value: `urn:oid:${input.pacsObjects.srSopInstanceUid}` }],
    narrative,
  });
}
