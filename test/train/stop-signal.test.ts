// The graceful-stop helper: a signal sets the flag (and aborts the AbortSignal)
// without ending the process; a second one re-raises it with the handlers
// removed (or is ignored); dispose removes the handlers.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { setLogSink } from '../../src/log.js';
import { installStopSignal } from '../../src/train/index.js';
import type { SignalTarget } from '../../src/train/index.js';

function fakeProcess() {
  const emitter = new EventEmitter();
  const kill = vi.fn();
  const target = Object.assign(emitter, { pid: 4242, kill }) as unknown as SignalTarget &
    EventEmitter;
  return { target, kill, emitter };
}

function quietly<T>(fn: () => T): T {
  const prev = setLogSink(() => undefined);
  try {
    return fn();
  } finally {
    setLogSink(prev);
  }
}

describe('installStopSignal', () => {
  it('sets the flag on the first signal and re-raises the second one', () => {
    const { target, kill, emitter } = fakeProcess();
    const stop = installStopSignal({ target });
    expect(stop.requested).toBe(false);
    quietly(() => emitter.emit('SIGTERM', 'SIGTERM'));
    expect(stop.requested).toBe(true);
    expect(stop.reason).toBe('SIGTERM');
    expect(stop.signal.aborted).toBe(true);
    expect(kill).not.toHaveBeenCalled();
    quietly(() => emitter.emit('SIGINT', 'SIGINT'));
    expect(kill).toHaveBeenCalledWith(4242, 'SIGINT');
    expect(emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGTERM')).toBe(0);
  });

  it('ignores repeated signals when forceOnSecond is false; dispose removes handlers', () => {
    const { target, kill, emitter } = fakeProcess();
    const stop = installStopSignal({ target, forceOnSecond: false });
    quietly(() => {
      emitter.emit('SIGINT', 'SIGINT');
      emitter.emit('SIGINT', 'SIGINT');
    });
    expect(kill).not.toHaveBeenCalled();
    expect(emitter.listenerCount('SIGINT')).toBe(1);
    stop.dispose();
    stop.dispose();
    expect(emitter.listenerCount('SIGINT')).toBe(0);
  });

  it('can be requested from code', () => {
    const { target, kill } = fakeProcess();
    const stop = installStopSignal({ target });
    stop.request();
    expect([stop.requested, stop.reason, stop.signal.aborted]).toEqual([true, 'manual', true]);
    expect(kill).not.toHaveBeenCalled();
    stop.dispose();
  });

  it('listens on the real process object (one emitted SIGINT only sets the flag)', () => {
    const before = process.listenerCount('SIGINT');
    const stop = installStopSignal();
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    quietly(() => process.emit('SIGINT', 'SIGINT')); // an event, not a real signal
    expect(stop.reason).toBe('SIGINT');
    stop.dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
