// Learning-rate schedules at their key steps: inside warm-up, warm-up end,
// midpoint of the decay, end and beyond; config checks.
import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  makeSchedule,
} from '../../src/train/index.js';
import type { ScheduleConfig } from '../../src/train/index.js';

describe('schedules', () => {
  it('warms up linearly from lr/W at step 0 to lr at step W−1', () => {
    const s = cosineSchedule(1e-3, 110, { warmupSteps: 10 });
    expect(s(0)).toBeCloseTo(1e-4, 12);
    expect(s(4)).toBeCloseTo(5e-4, 12);
    expect(s(9)).toBeCloseTo(1e-3, 12);
    expect(s(10)).toBeCloseTo(1e-3, 12); // decay starts at the peak
  });

  it('cosine: half-way between lr and minLr at the midpoint, minLr at the end and after', () => {
    const s = cosineSchedule(1e-3, 110, { warmupSteps: 10, minLr: 1e-4 });
    expect(s(60)).toBeCloseTo(5.5e-4, 12);
    expect(s(35)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(s(110)).toBeCloseTo(1e-4, 12);
    expect(s(500)).toBe(1e-4);
  });

  it('linear: straight line from lr to minLr', () => {
    const s = linearSchedule(2, 10, { warmupSteps: 2 });
    expect([s(0), s(1), s(2), s(6), s(10), s(11)]).toEqual([1, 2, 2, 1, 0, 0]);
  });

  it('constant: lr after warm-up', () => {
    const s = constantSchedule(0.3, 3);
    expect([s(0), s(1), s(2), s(3), s(1000)].map((x) => +x.toFixed(12))).toEqual([
      0.1, 0.2, 0.3, 0.3, 0.3,
    ]);
    expect(constantSchedule(0.3)(0)).toBe(0.3);
  });

  it('rejects bad configs and steps', () => {
    expect(() => cosineSchedule(1, 5, { warmupSteps: 5 })).toThrow(/greater than warmupSteps/);
    expect(() => cosineSchedule(1, 5, { minLr: 2 })).toThrow(/minLr/);
    expect(() => makeSchedule({ kind: 'step' } as unknown as ScheduleConfig)).toThrow(/lr/);
    expect(() => makeSchedule({ kind: 'step', lr: 1 } as unknown as ScheduleConfig)).toThrow(
      /unknown schedule kind: "step"/,
    );
    expect(() => constantSchedule(1)(-1)).toThrow(/schedule step/);
  });
});
