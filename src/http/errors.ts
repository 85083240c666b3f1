import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, errorMessage, isAppError, type ErrorCode } from '../lib/errors.js';

/** Every error code's HTTP status, in one place. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  validation_failed: 400,
  invitation_invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  user_not_found: 404,
  rollout_not_found: 404,
  run_not_found: 404,
  connector_not_found: 404,
  organization_not_found: 404,
  conflict: 409,
  connector_busy: 409,
  connector_held: 409,
  run_not_approvable: 409,
  rollout_invalid_state: 409,
  rate_limited: 429,
  database_unreachable: 503,
  redis_unreachable: 503,
};

/** A 429: how long to wait is in `details.retryAfterSeconds` (sent as Retry-After). */
export function rateLimited(message: string, msBeforeNext: number): AppError {
  return new AppError('rate_limited', message, { details: { retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) } });
}

export function retryAfterOf(err: unknown): number | null {
  const d = (err as { details?: { retryAfterSeconds?: unknown } } | null)?.details;
  return typeof d?.retryAfterSeconds === 'number' ? d.retryAfterSeconds : null;
}

export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

export function formatZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

/** Errors leave as `{ error: { code, message } }`; a 5xx never shows its internals. */
export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (isAppError(err)) {
    const status = httpStatus(err.code);
    if (status >= 500) request.log.error({ code: err.code, err: err.message }, 'request failed');
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== null) void reply.header('retry-after', String(retryAfter));
    void reply.code(status).send({ error: { code: err.code, message: err.message } });
    return;
  }
  if (err instanceof ZodError) {
    void reply.code(400).send({ error: { code: 'validation_failed', message: formatZodError(err) } });
    return;
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    const code = e.statusCode === 413 ? 'payload_too_large' : e.statusCode === 415 ? 'unsupported_media_type' : e.statusCode === 429 ? 'rate_limited' : 'bad_request';
    void reply.code(e.statusCode).send({ error: { code, message: e.message ?? 'bad request' } });
    return;
  }
  request.log.error({ err: errorMessage(e) }, 'unexpected error');
  void reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
}
