/**
 * STOW-RS (PS3.18 10.5): the request body, `multipart/related; type="application/dicom"` with
 * one Part 10 file per part, and the store instances response (a DICOM JSON data set naming
 * what was stored and what failed).
 */
import { randomUUID } from 'node:crypto';

import { AppError } from '../errors.js';
import { jsonString } from './dicom-json.js';
import type { DicomJsonDataset } from './types.js';

const CRLF = '\r\n';

/** One instance the PACS reports. */
export interface StowInstance {
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string | undefined;
  /** Failure Reason (0008,1197) or Warning Reason (0008,1196), when given. */
  readonly reason?: number | undefined;
}

/** What a STOW-RS answer says. */
export interface StowResult {
  /** Referenced SOP Sequence (0008,1199): stored (with a warning when `reason` is set). */
  readonly stored: readonly StowInstance[];
  /** Failed SOP Sequence (0008,1198). */
  readonly failed: readonly StowInstance[];
}

/**
 * The multipart body and its Content-Type. The boundary is random and checked against every part.
 *
 * @throws RangeError for no parts
 */
export function stowBody(parts: readonly Uint8Array[], boundary = `imaging-cds-${randomUUID()}`): { body: Uint8Array; contentType: string } {
  if (parts.length === 0) throw new RangeError('STOW-RS needs at least one instance.');
  const encoder = new TextEncoder();
  const marker = encoder.encode(`--${boundary}`);
  const contains = (bytes: Uint8Array): boolean => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(Buffer.from(marker));
  if (parts.some(contains)) return stowBody(parts, `imaging-cds-${randomUUID()}`);
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    chunks.push(encoder.encode(`--${boundary}${CRLF}Content-Type: application/dicom${CRLF}${CRLF}`), part, encoder.encode(CRLF));
  }
  chunks.push(encoder.encode(`--${boundary}--${CRLF}`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/**
 * The body of one STOW-RS request under a byte cap.
 *
 * @throws AppError DICOM_TOO_LARGE when the body exceeds `maxBytes`
 */
export function stowRequest(parts: readonly Uint8Array[], maxBytes: number): { bytes: Uint8Array; contentType: string } {
  const { body, contentType } = stowBody(parts);
  if (body.byteLength > maxBytes) throw new AppError('DICOM_TOO_LARGE', `The STOW-RS request exceeds the limit of ${maxBytes} bytes.`);
  return { bytes: body, contentType };
}

function items(ds: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const value = (ds[tag] as { Value?: unknown } | undefined)?.Value;
  return Array.isArray(value) ? value.filter((v): v is DicomJsonDataset => typeof v === 'object' && v !== null && !Array.isArray(v)) : [];
}

function instance(item: DicomJsonDataset, reasonTag: string): StowInstance {
  const reason = (item[reasonTag] as { Value?: unknown[] } | undefined)?.Value?.[0];
  return {
    sopClassUid: jsonString(item, '00081150'),
    sopInstanceUid: jsonString(item, '00081155'),
    ...(typeof reason === 'number' ? { reason } : {}),
  };
}

/**
 * Reads a store instances response (PS3.18 10.5.3): a DICOM JSON object, or an array of one.
 * An empty body means the PACS said nothing: nothing is reported stored.
 *
 * @throws AppError UPSTREAM_FAILED when the body is not DICOM JSON
 */
export function parseStowResponse(text: string): StowResult {
  if (text.trim() === '') return { stored: [], failed: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('UPSTREAM_FAILED', 'STOW-RS returned a body that is not JSON.', { cause: err });
  }
  const ds: unknown = Array.isArray(parsed) ? (parsed as unknown[])[0] : parsed;
  if (typeof ds !== 'object' || ds === null || Array.isArray(ds)) throw new AppError('UPSTREAM_FAILED', 'STOW-RS returned JSON that is not a DICOM JSON data set.');
  const dataset = ds as DicomJsonDataset;
  return {
    stored: items(dataset, '00081199').map((i) => instance(i, '00081196')),
    failed: items(dataset, '00081198').map((i) => instance(i, '00081197')),
  };
}
