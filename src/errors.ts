// Typed errors for snnlm. Every error carries the offending value and, where one
// exists, a hint; tests match messages, so messages are part of the contract.

/** Base class of every error snnlm throws on purpose. */
export class SnnlmError extends Error {
  /** Short machine-readable kind, e.g. `config`, `shape`, `format`. */
  readonly kind: string;
  /** What the user can do about it, when we know. */
  readonly hint?: string;

  constructor(kind: string, message: string, hint?: string) {
    super(hint ? `${message} (hint: ${hint})` : message);
    this.name = new.target.name;
    this.kind = kind;
    this.hint = hint;
    // Keep `instanceof` working after transpilation to older targets.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A bad option, config field or argument value. */
export class ConfigError extends SnnlmError {
  constructor(message: string, hint?: string) {
    super('config', message, hint);
  }
}

/** Tensor shapes that do not fit together. */
export class ShapeError extends SnnlmError {
  constructor(message: string, hint?: string) {
    super('shape', message, hint);
  }
}

/** A file that is corrupt, truncated, hostile or of the wrong kind. */
export class FormatError extends SnnlmError {
  /** The file the problem was found in. */
  readonly file: string;

  constructor(file: string, message: string, hint?: string) {
    super('format', `${file}: ${message}`, hint);
    this.file = file;
  }
}

/** A backend (tfjs) problem: a missing kernel, a backend that failed to start. */
export class BackendError extends SnnlmError {
  constructor(message: string, hint?: string) {
    super('backend', message, hint);
  }
}

/** Throw a ConfigError unless `cond` holds. */
export function check(cond: unknown, message: string, hint?: string): asserts cond {
  if (!cond) throw new ConfigError(message, hint);
}

/** Assert a value is a positive integer, naming it in the error. */
export function checkPositiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

/** Assert a value is a finite number, naming it in the error. */
export function checkFinite(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ConfigError(`${name} must be a finite number, got ${String(value)}`);
  }
}

/** Exhaustiveness helper for `switch` over unions. */
export function unreachable(value: never, what: string): never {
  throw new ConfigError(`unknown ${what}: ${JSON.stringify(value)}`);
}
