// Checks a message against the JSON schema its channel advertises, as Foxglove would read it:
// zod's JSON-schema import for types and required fields, plus a walk for keys the schema lacks
// (a misspelt field would otherwise pass silently and show nothing in Foxglove).

import { z } from 'zod';

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; oneOf?: Schema[] };

function unknownKeys(schema: Schema, value: unknown, path: string, out: string[]): void {
  if (schema.oneOf) return;
  if (schema.type === 'array' && Array.isArray(value) && schema.items) value.forEach((v, i) => unknownKeys(schema.items!, v, `${path}[${i}]`, out));
  if (schema.type === 'object' && schema.properties && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, v] of Object.entries(value)) {
      const property = schema.properties[key];
      if (property === undefined) out.push(`${path}.${key}`);
      else unknownKeys(property, v, `${path}.${key}`, out);
    }
  }
}

/** Problems of `value` under `schemaText` (a serialised JSON schema); empty when it validates. */
export function schemaProblems(schemaText: string, value: unknown): string[] {
  const schema = JSON.parse(schemaText) as Schema;
  const result = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const extra: string[] = [];
  unknownKeys(schema, value, '', extra);
  return [...problems, ...extra.map((key) => `${key}: not in the schema`)];
}
