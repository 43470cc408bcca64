/**
 * Errors a user can act on. `UserError` carries a message that names the file, the field and what
 * was expected; the CLI prints it without a stack trace and exits with status 2.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Narrow an unknown thrown value to a message. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
