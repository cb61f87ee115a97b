// Reading a JSON request body: the content type must be JSON, the bytes valid
// UTF-8 (checked while parsing, see app.ts), and the value must fit the route's
// schema. Failures are 400s in the OpenAI envelope.
import type { Request } from 'express';
import type { z } from 'zod';
import { ApiError, fromZod } from './errors.js';

/** Parse `req.body` with `schema`. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  if (!req.is('application/json')) {
    throw new ApiError(
      400,
      `Content-Type must be application/json, got ${JSON.stringify(req.get('content-type') ?? '')}`,
    );
  }
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
}
