import type { z } from 'zod';

/** A zod issue as a person reads it: "required, expected string", "expected number, got "twelve"", "expected one of …". */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required, expected ${issue.expected}`;
  const got = 'input' in issue && issue.input !== undefined ? `, got ${JSON.stringify(issue.input)}` : '';
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}${got}`;
  return issue.message.replace(/^Invalid input: /, '');
}
