/**
 * pino JSON logs with redaction by path. Tokens, JWTs and patient identifiers must never reach
 * a log line: request bodies are never logged whole, and these paths are censored wherever a
 * caller passes such an object by mistake.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'fhirAuthorization',
  '*.fhirAuthorization',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'password',
  '*.password',
  'patientId',
  '*.patientId',
  'context.patientId',
  'patient',
  '*.patient',
  'subject',
  '*.subject',
  'identifier',
  '*.identifier',
  'prefetch',
  '*.prefetch',
];

export type { Logger };

/**
 * Creates the root logger.
 *
 * @param level - pino level
 * @param destination - where to write (tests pass a stream to inspect lines)
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'imaging-cds' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? process.stdout,
  );
}
