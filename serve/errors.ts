// HTTP errors in the OpenAI envelope (conventions.md 1.5):
//   {"error":{"message","type","param","code"}}, `code` the HTTP status (as
// llama.cpp and vLLM do) or a string code such as `context_length_exceeded`.
// Every error a route throws, engine errors and express's body-parser errors
// are mapped here, in one place; a 500 never carries a stack.
import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { SnnlmError } from '../src/errors.js';
import { log } from '../src/log.js';
import { OverloadedError, UnavailableError } from './engine.js';

/** The `type` values of the envelope. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'overloaded_error'
  | 'unavailable_error'
  | 'timeout_error'
  | 'not_supported_error'
  | 'server_error';

/** The envelope's body. */
export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: number | string };
}

/** An error with an HTTP status, thrown by routes and rendered by `errorHandler`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: number | string = status,
    /** Seconds for a `Retry-After` header. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** 400 invalid_request_error naming `param`. */
export function badRequest(message: string, param: string | null = null, code?: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code ?? 400);
}

/** Seconds a client is told to wait when the queue is full. */
export const RETRY_AFTER_S = 1;

/** The first zod issue as a message naming the field, e.g. `'temperature' must be ...`. */
export function fromZod(err: ZodError): ApiError {
  const issue = err.issues[0];
  const param = issue.path.map(String).join('.') || null;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
  return badRequest(param ? `'${param}': ${message}` : message, param);
}

/** Map anything thrown to an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ZodError) return fromZod(err);
  if (err instanceof OverloadedError) {
    return new ApiError(429, err.message, 'overloaded_error', null, 429, RETRY_AFTER_S);
  }
  if (err instanceof UnavailableError) {
    return new ApiError(503, err.message, 'unavailable_error', null, 503, RETRY_AFTER_S);
  }
  if (err instanceof DOMException && err.name === 'TimeoutError') {
    return new ApiError(504, 'the request took longer than the server timeout', 'timeout_error');
  }
  if (err instanceof SnnlmError && err.kind === 'config') return badRequest(err.message);
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  switch (e.type) {
    case 'entity.parse.failed':
      return badRequest(`the body is not valid JSON: ${String(e.message)}`);
    case 'entity.too.large':
      return new ApiError(413, 'the body is larger than the server accepts (--max-body)');
    case 'entity.not.utf8':
      return badRequest(String(e.message));
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError(415, `${String(e.message)}; send UTF-8 JSON`);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return badRequest(String(e.message));
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ApiError(e.status, String(e.message ?? 'bad request'));
  }
  log.error(`server error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return new ApiError(500, 'internal server error', 'server_error');
}

/** Write an error: the envelope as JSON, or one SSE `data:` event once a stream has begun. */
export function sendError(res: Response, err: unknown): void {
  const api = toApiError(err);
  if (res.headersSent) {
    if (!res.writableEnded) {
      res.write(`data: ${JSON.stringify(api.body())}\n\n`);
      res.end();
    }
    return;
  }
  if (api.retryAfter !== undefined) res.setHeader('Retry-After', String(api.retryAfter));
  res.status(api.status).json(api.body());
}

/** Express's error middleware (4 arguments). */
export function errorHandler(
  err: unknown,
  _req: Request,
  res: Response,
  _next: NextFunction,
): void {
  sendError(res, err);
}

/** 404 for every route not matched. */
export function notFound(req: Request, res: Response): void {
  sendError(
    res,
    new ApiError(404, `no route ${req.method} ${req.path}`, 'not_found_error', null, 404),
  );
}
