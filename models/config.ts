// Reading fields of a parsed config.json with errors that name the file and the
// field (tfjs-layers' `assertPositiveInteger` style, style.md section 5). JSON
// `null` counts as absent (Hugging Face writes `"head_dim": null` and the like).
import { ConfigError } from '../src/errors.js';
import type { JsonObject } from '../src/io/index.js';

/** Bounds and default of a numeric field. */
export interface NumberField {
  /** Used when the field is absent or null; without it the field is required. */
  default?: number;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Require a value strictly greater than 0. */
  positive?: boolean;
}

/** Typed, validated access to one config object. */
export class ConfigReader {
  /**
   * `config`: the parsed object; `source`: where it came from (a path, or
   * `config.json`), used in every message; `modelType` is named for required fields.
   */
  constructor(
    readonly config: JsonObject,
    readonly source = 'config.json',
    readonly modelType = String(config.model_type ?? '?'),
  ) {}

  /** The raw value, `undefined` for absent or null. */
  raw(key: string): unknown {
    const v = this.config[key];
    return v === null ? undefined : v;
  }

  private fail(key: string, what: string): never {
    throw new ConfigError(
      `${this.source}: "${key}" ${what}, got ${JSON.stringify(this.config[key])}`,
    );
  }

  private missing(key: string): never {
    throw new ConfigError(
      `${this.source}: missing required field "${key}" (model_type "${this.modelType}")`,
    );
  }

  /** An integer field. */
  int(key: string, field: NumberField = {}): number {
    const v = this.raw(key);
    if (v === undefined) {
      if (field.default === undefined) this.missing(key);
      return field.default;
    }
    const min = field.min ?? (field.positive ? 1 : -Infinity);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(key, `must be an integer${min > -Infinity ? ` >= ${min}` : ''}`);
    }
    return v;
  }

  /** A finite number field. */
  num(key: string, field: NumberField = {}): number {
    const v = this.raw(key);
    if (v === undefined) {
      if (field.default === undefined) this.missing(key);
      return field.default;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'must be a finite number');
    if (field.positive && !(v > 0)) this.fail(key, 'must be > 0');
    if (field.min !== undefined && v < field.min) this.fail(key, `must be >= ${field.min}`);
    return v;
  }

  /** A boolean field with a default. */
  bool(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }

  /** A string field restricted to `allowed`, with a default. */
  oneOf<T extends string>(key: string, allowed: readonly T[], def: T): T {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      this.fail(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return v as T;
  }

  /** A field that this implementation does not support unless absent or null. */
  unsupported(key: string, hint: string): void {
    if (this.raw(key) !== undefined) this.fail(key, `is not supported (${hint})`);
  }

  /** Throw naming `key` unless `cond` holds. */
  require(cond: boolean, key: string, what: string): void {
    if (!cond) this.fail(key, what);
  }

  /** The fields of the config not in `known` (kept so that a save round-trips them). */
  extras(known: readonly string[]): JsonObject {
    const skip = new Set(known);
    return Object.fromEntries(Object.entries(this.config).filter(([k]) => !skip.has(k)));
  }
}
