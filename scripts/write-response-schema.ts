/**
 * Writes fhir-resources/cds-hooks-response.schema.json from the response validator's zod
 * schema. A test fails when the checked-in file drifts from the code.
 *   node --experimental-strip-types is not on Node 20: run through the build:
 *   npm run build && node dist/scripts/write-response-schema.js
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { cdsResponseJsonSchema } from '../src/cds-hooks/index.js';

const file = path.join(PROJECT_ROOT, 'fhir-resources', 'cds-hooks-response.schema.json');
writeFileSync(file, `${JSON.stringify(cdsResponseJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file}\n`);
