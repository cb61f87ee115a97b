// Typed reading of one config object's fields, each error naming the field and the
// offending value (house style: no silent fallback on bad input).
import { ConfigError } from '../errors.js';

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Reader over a plain config object: absent keys give the default, wrong types throw. */
export class Fields {
  constructor(private readonly cfg: Record<string, unknown>) {}

  /** Whether the key is present (even if null). */
  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.cfg, key);
  }

  /** The raw value, undefined when absent. */
  get(key: string): unknown {
    return this.has(key) ? this.cfg[key] : undefined;
  }

  /** A finite number, or `def` when absent. */
  num(key: string, def: number): number {
    return this.optNum(key) ?? def;
  }

  /** A finite number, or undefined when absent. */
  optNum(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.cfg[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`neuron config: ${key} must be a finite number, got ${show(v)}`);
    }
    return v;
  }

  /** A finite number or null, `def` when absent. */
  numOrNull(key: string, def: number | null): number | null {
    if (this.has(key) && this.cfg[key] === null) return null;
    return this.has(key) ? this.num(key, 0) : def;
  }

  /** A positive integer, `def` when absent. */
  posInt(key: string, def: number): number {
    const v = this.num(key, def);
    if (!Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`neuron config: ${key} must be a positive integer, got ${show(v)}`);
    }
    return v;
  }

  /** A boolean, `def` when absent. */
  bool(key: string, def: boolean): boolean {
    if (!this.has(key)) return def;
    const v = this.cfg[key];
    if (typeof v !== 'boolean') {
      throw new ConfigError(`neuron config: ${key} must be true or false, got ${show(v)}`);
    }
    return v;
  }

  /** One of the allowed strings, `def` when absent; the error lists the allowed values. */
  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    if (!this.has(key)) return def;
    const v = this.cfg[key];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(
        `neuron config: ${key} must be one of ${allowed.join(', ')}, got ${show(v)}`,
      );
    }
    return v as T;
  }

  /** Throw for any key not in `allowed`, listing the allowed keys. */
  rejectUnknown(allowed: readonly string[], what: string): void {
    const unknown = Object.keys(this.cfg).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
      throw new ConfigError(
        `neuron config: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} for neuron ${what}; allowed: ${allowed.join(', ')}`,
      );
    }
  }
}
