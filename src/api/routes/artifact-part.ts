import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { JsonPointer } from '../../core/investigation.ts';
import { resolvePointer } from '../../core/json-pointer.ts';

/**
 * The part of an artifact a finding's evidence points at: `?lines=12-40` of a text artifact (1-based, inclusive), or
 * `?pointer=/rows/3` of a JSON one (RFC 6901). Not strict: a signed link carries `exp` and `sig` beside them.
 */
export const ArtifactQuery = z
  .object({
    lines: z
      .string()
      .regex(/^[1-9]\d{0,8}-[1-9]\d{0,8}$/, 'expected a line range such as "12-40"')
      .refine((v) => {
        const [from, to] = v.split('-').map(Number) as [number, number];
        return from <= to;
      }, 'expected from ≤ to')
      .optional()
      .describe('only these lines of a text artifact, 1-based and inclusive: "12-40"'),
    pointer: JsonPointer.optional().describe('only this value of a JSON artifact, as an RFC 6901 pointer: "/rows/3"'),
  })
  .refine((q) => !(q.lines && q.pointer), { message: 'give lines or pointer, not both', path: ['lines'] });
export type ArtifactQuery = z.infer<typeof ArtifactQuery>;

/** The part asked for, or null when the whole artifact is. Errors name the query field. */
export function artifactPart(name: string, body: Buffer, q: ArtifactQuery): { body: string; contentType: string } | null {
  if (q.lines) {
    const [from, to] = q.lines.split('-').map(Number) as [number, number];
    const text = body.toString('utf8');
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    if (from > lines.length) {
      throw new ValidationError('line range past the end', [{ path: 'query.lines', message: `${name} has ${lines.length} lines` }]);
    }
    const part = lines.slice(from - 1, to).join('\n');
    return { body: `${part}\n`, contentType: 'text/plain; charset=utf-8' };
  }
  if (q.pointer) {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ValidationError('not a JSON artifact', [{ path: 'query.pointer', message: `${name} is not JSON: ask for lines instead` }]);
    }
    const value = resolvePointer(doc, q.pointer);
    if (value === undefined) throw new NotFoundError(`${name} has nothing at ${q.pointer}`);
    return { body: JSON.stringify(value, null, 2), contentType: 'application/json' };
  }
  return null;
}
