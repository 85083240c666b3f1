/**
 * One error type for the whole app: a stable string code, whether retrying can help,
 * and the cause. Faces (CLI, HTTP, jobs) map codes to exit statuses / HTTP statuses.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'config_not_found'
  | 'connector_not_found'
  | 'connector_unknown_type'
  | 'connector_busy'
  | 'connector_lock_lost'
  | 'connector_held'
  | 'connector_auth_failed'
  | 'connector_request_failed'
  | 'connector_bad_response'
  | 'listing_failed'
  | 'run_not_found'
  | 'run_not_approvable'
  | 'organization_not_found'
  | 'user_not_found'
  | 'validation_failed'
  | 'conflict'
  | 'rollout_not_found'
  | 'rollout_invalid_state'
  | 'invitation_invalid'
  | 'not_found'
  | 'database_unreachable'
  | 'redis_unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'internal';

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown; details?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }
}

/** Checked by name as well as instanceof: errors may cross module copies (tsx vs dist). */
export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError || (err instanceof Error && err.name === 'AppError' && 'code' in err);
}

const MAX_MESSAGE = 500;

/**
 * One readable line for an error, fit for a run's `error` column and an API response.
 * A database error's message from the query builder starts with the whole SQL text
 * (kilobytes, and parameters can carry personal data): keep PostgreSQL's own message and
 * its SQLSTATE code instead. Anything else is capped at 500 characters.
 */
export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  // PostgreSQL's errors (and MikroORM's wrappers of them) carry a severity and a SQLSTATE.
  if (err instanceof Error && 'severity' in err && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const cut = message.lastIndexOf(' - ');
    const pgMessage = cut >= 0 ? message.slice(cut + 3) : message;
    return cap(`database error ${code}: ${pgMessage}`);
  }
  // A connection that dropped under a statement (ECONNRESET, "Connection terminated
  // unexpectedly": a database restart) has no severity, but the query builder put the
  // statement, parameters inlined, before its message all the same: keep the reason only.
  const cut = message.lastIndexOf(' - ');
  if (err instanceof Error && cut >= 0) {
    const reason = message.slice(cut + 3);
    const driver = /Exception$/.test(err.name) || (typeof code === 'string' && /^(E[A-Z]+|[0-9A-Z]{5})$/.test(code));
    if (driver || /^(Connection terminated|Connection ended|Client has encountered a connection error|(read|write) E[A-Z]+)/.test(reason)) {
      return cap(`database error${typeof code === 'string' ? ` ${code}` : ''}: ${reason}`);
    }
  }
  return cap(message);
}

function cap(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}
