// Incremental detokenization for streaming: turns token ids arriving one at a
// time into text pieces whose concatenation is the full decode. A token's text
// depends on its neighbours (sentencepiece strips the first leading space, a
// character may be split over several byte-fallback tokens), so each step
// decodes a short window that starts at the previously emitted token and emits
// only what the new token added, holding text back while it ends in an
// incomplete UTF-8 sequence (U+FFFD). The prefix/read-offset scheme is the one
// text-generation-inference and vLLM use.
import type { Tokenizer } from './tokenizer.js';

/** Options of `IncrementalDetokenizer`. */
export interface DetokenizerOptions {
  /**
   * Ids already in the sequence (the prompt); they give the first new token its
   * context (its leading space) but are never emitted.
   */
  context?: readonly number[];
  /** Leave special tokens out of the text. @default true */
  skipSpecialTokens?: boolean;
}

/** How many context tokens the first window starts before the first new token. */
const CONTEXT_WINDOW = 6;
const REPLACEMENT = '\uFFFD';

/** Streams text from token ids; see the file header. */
export class IncrementalDetokenizer {
  private readonly ids: number[];
  private prefixOffset: number;
  private readOffset: number;
  private emitted = '';
  private readonly skip: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: DetokenizerOptions = {},
  ) {
    this.ids = [...(options.context ?? [])];
    this.readOffset = this.ids.length;
    this.prefixOffset = Math.max(0, this.ids.length - CONTEXT_WINDOW);
    this.skip = options.skipSpecialTokens ?? true;
  }

  /** Everything emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Number of ids held, context included. */
  get length(): number {
    return this.ids.length;
  }

  private window(from: number, to: number): string {
    return this.tokenizer.decode(this.ids.slice(from, to), { skipSpecialTokens: this.skip });
  }

  /**
   * The text the ids after the read offset add to the window's prefix, emitted if
   * it is complete (or `force`); advances the window when something was emitted.
   */
  private release(force: boolean): string {
    const prefix = this.window(this.prefixOffset, this.readOffset);
    const full = this.window(this.prefixOffset, this.ids.length);
    if (full.length <= prefix.length || (!force && full.endsWith(REPLACEMENT))) return '';
    // NOTE: a window decodes to a continuation of its prefix for sentencepiece,
    // byte-level and WordPiece decoders; if a decoder ever rewrote the prefix,
    // the characters past its length are still the best streaming guess.
    const piece = full.slice(prefix.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.emitted += piece;
    return piece;
  }

  /** Add one id; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    return this.release(false);
  }

  /** Emit whatever is held back (an incomplete character comes out as U+FFFD). */
  flush(): string {
    return this.readOffset < this.ids.length ? this.release(true) : '';
  }
}
