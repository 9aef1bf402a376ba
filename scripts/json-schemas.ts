/**
 * Writes docs/schemas/*.schema.json: the queue's job payloads and the output record as JSON
 * Schema, from the zod schemas the workers validate with (test/queue-schemas.test.ts checks
 * that the committed files match).
 *
 *   npm run build && node dist/scripts/json-schemas.js
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../src/core/package-root.js';
import { jsonSchemas } from '../src/runtime/queue/schemas.js';

for (const [name, schema] of Object.entries(jsonSchemas())) {
  const path = join(packageRoot(), 'docs', 'schemas', `${name}.schema.json`);
  await writeFile(path, JSON.stringify(schema, null, 2) + '\n');
  process.stdout.write(`${path}\n`);
}
