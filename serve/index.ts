// Public surface of serve/: the engine (no HTTP), the express app, starting and
// stopping a server, and the shapes of jobs and their results.
export { Engine, OverloadedError, UnavailableError, defaultWorkers } from './engine.js';
export type { EngineOptions, SubmitOptions } from './engine.js';
export { runJob, MAX_TOP_LOGPROBS } from './job.js';
export type { RunJobOptions } from './job.js';
export { createApp, playgroundDir } from './app.js';
export type { AppOptions } from './app.js';
export { startServer } from './server.js';
export type { RunningServer, ServerOptions } from './server.js';
export { DEFAULT_LIMITS } from './context.js';
export type { Limits, ServerContext } from './context.js';
export { ApiError } from './errors.js';
export type { ErrorBody, ErrorType } from './errors.js';
export { chatFormatter, defaultChatFormat, DEFAULT_CHAT_STOP } from './chat.js';
export type { ChatFormatter, ChatMessage, ChatPrompt } from './chat.js';
export type {
  EnergyTotals,
  Job,
  JobResult,
  ModelInfo,
  StepStats,
  TokenEvent,
  TokenLogprobs,
} from './types.js';
