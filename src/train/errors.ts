// Typed errors of the training machinery: a non-finite gradient (the update is
// not applied) and a checkpoint that is incomplete or corrupt (the file is named).
import { FormatError, SnnlmError } from '../errors.js';

/**
 * The global gradient norm is NaN or ±Inf, so the optimizer step was not taken.
 * `names` lists the parameters whose gradients are non-finite.
 */
export class NonFiniteGradientError extends SnnlmError {
  /** The global norm that was found (NaN or Infinity). */
  readonly norm: number;
  /** Parameters whose gradient norm is non-finite, in the order given. */
  readonly names: readonly string[];

  constructor(norm: number, names: readonly string[]) {
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '');
    super(
      'numeric',
      `non-finite gradient norm (${String(norm)}) in ${shown || 'the gradients'}; the update was not applied`,
      'lower the learning rate, enable gradient clipping, or check the loss for log(0) / division by zero',
    );
    this.norm = norm;
    this.names = names;
  }
}

/**
 * A checkpoint folder that is incomplete (no manifest: the save was
 * interrupted) or corrupt (a file is missing, truncated or altered). `file` is
 * the offending file.
 */
export class CheckpointError extends FormatError {
  constructor(file: string, message: string, hint?: string) {
    super(file, message, hint);
  }
}
