/** The words of a failure as a client is told them: an Error's message, or whatever was thrown, as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
