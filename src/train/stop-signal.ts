// Graceful stop for training loops: SIGINT (Ctrl-C) or SIGTERM sets a flag that
// the loop checks between steps, so it can save a checkpoint and return. The
// library never exits the process itself. A second signal (the user insisting)
// removes the handlers and re-raises the signal, so Node's default action ends
// the process — unless `forceOnSecond` is false.
import { log } from '../log.js';

/** The part of `process` the helper uses (tests pass a fake). */
export interface SignalTarget {
  readonly pid: number;
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  kill(pid: number, signal?: NodeJS.Signals): unknown;
}

/** Options of `installStopSignal`. */
export interface StopSignalOptions {
  /** @default ['SIGINT', 'SIGTERM'] */
  signals?: readonly NodeJS.Signals[];
  /** Re-raise a second signal with the handlers removed. @default true */
  forceOnSecond?: boolean;
  /** @default process */
  target?: SignalTarget;
}

/** A stop request flag; `dispose()` removes the signal handlers. */
export interface StopSignal {
  /** True once a stop was requested (by a signal or `request`). */
  readonly requested: boolean;
  /** The signal that asked to stop, `'manual'` for `request()`, or null. */
  readonly reason: NodeJS.Signals | 'manual' | null;
  /** Aborted when a stop is requested, for APIs that take an AbortSignal. */
  readonly signal: AbortSignal;
  /** Request a stop from code (e.g. a time limit). */
  request(): void;
  /** Remove the handlers; idempotent. */
  dispose(): void;
}

/**
 * Install SIGINT/SIGTERM handlers that request a stop.
 *
 * ```ts
 * const stop = installStopSignal();
 * try {
 *   for (let step = start; step < total && !stop.requested; step++) await trainStep();
 *   await saveCheckpoint(...);
 * } finally { stop.dispose(); }
 * ```
 */
export function installStopSignal(options: StopSignalOptions = {}): StopSignal {
  const target: SignalTarget = options.target ?? process;
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const force = options.forceOnSecond ?? true;
  const controller = new AbortController();
  let reason: NodeJS.Signals | 'manual' | null = null;
  let installed = true;

  const dispose = (): void => {
    if (!installed) return;
    installed = false;
    for (const s of signals) target.removeListener(s, onSignal);
  };

  function onSignal(sig: NodeJS.Signals): void {
    if (reason === null) {
      reason = sig;
      controller.abort(sig);
      log.warn(
        `${sig} received: stopping after the current step` +
          (force ? ' (send it again to stop immediately)' : ''),
      );
      return;
    }
    if (!force) return;
    log.warn(`${sig} received again: stopping immediately`);
    dispose();
    target.kill(target.pid, sig);
  }

  for (const s of signals) target.on(s, onSignal);
  return {
    get requested() {
      return reason !== null;
    },
    get reason() {
      return reason;
    },
    signal: controller.signal,
    request() {
      if (reason !== null) return;
      reason = 'manual';
      controller.abort('manual');
    },
    dispose,
  };
}
