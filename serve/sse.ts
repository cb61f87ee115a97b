// Server-sent events as OpenAI-compatible servers send them (conventions.md
// 1.4): headers flushed before the first token, one `data: <compact JSON>`
// line plus a blank line per event, no event names, `data: [DONE]` at the end.
import type { Response } from 'express';

/** An open event stream on `res`. */
export interface EventStream {
  send(data: unknown): void;
  /** Write `data: [DONE]` and end the response. */
  done(): void;
}

/** Start an event stream (sets the headers and flushes them). */
export function openEventStream(res: Response): EventStream {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  const write = (line: string): void => {
    if (!res.writableEnded && !res.destroyed) res.write(line);
  };
  return {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    done: () => {
      write('data: [DONE]\n\n');
      if (!res.writableEnded) res.end();
    },
  };
}
