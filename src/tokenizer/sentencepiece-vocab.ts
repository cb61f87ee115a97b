// A sentencepiece-style vocabulary (piece, score, kind per id) and the two ways
// to get one: from a llama2.c tokenizer's pieces and scores (as read by
// `readLlama2cTokenizer` in src/io), or from a sentencepiece `.model` file
// (the `ModelProto` protobuf, read here with a minimal wire-format reader: only
// the pieces and the trainer's model type are needed).
import { FormatError } from '../errors.js';

/** Kind of a piece, as sentencepiece's `SentencePiece.Type`. */
export type PieceKind = 'normal' | 'unknown' | 'control' | 'user_defined' | 'unused' | 'byte';

/** One vocabulary entry; `piece` uses `▁` (U+2581) for a space, as sentencepiece does. */
export interface VocabPiece {
  readonly piece: string;
  readonly score: number;
  readonly kind: PieceKind;
}

/** Sentencepiece's word-boundary marker, which stands for a space. */
export const SPACE_MARKER = '\u2581';

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

/**
 * Turn llama2.c pieces and scores into a sentencepiece vocabulary, undoing the
 * llama2.c export convention: a plain space is `▁` again, `"\n<s>\n"` and
 * `"\n</s>\n"` are the control pieces `<s>` and `</s>`, `<unk>` is the unknown
 * piece and `<0xXX>` pieces are byte-fallback pieces.
 */
export function vocabFromLlama2c(
  pieces: readonly string[],
  scores: readonly number[],
): VocabPiece[] {
  return pieces.map((text, id) => {
    const score = scores[id];
    if (text === '<unk>') return { piece: text, score, kind: 'unknown' };
    if (text === '\n<s>\n' || text === '\n</s>\n') {
      return { piece: text.trim(), score, kind: 'control' };
    }
    if (BYTE_PIECE.test(text)) return { piece: text, score, kind: 'byte' };
    return { piece: text.replaceAll(' ', SPACE_MARKER), score, kind: 'normal' };
  });
}

const KINDS: Record<number, PieceKind> = {
  1: 'normal',
  2: 'unknown',
  3: 'control',
  4: 'user_defined',
  5: 'unused',
  6: 'byte',
};

/** Minimal protobuf wire-format cursor over one message. */
class Wire {
  private at = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {}

  get done(): boolean {
    return this.at >= this.bytes.byteLength;
  }

  private fail(): never {
    throw new FormatError(this.file, `truncated or malformed protobuf at byte ${this.at}`);
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.at >= this.bytes.byteLength) this.fail();
      const b = this.bytes[this.at++];
      if (shift < 53) value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    return this.fail();
  }

  /** Next field as [number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.at + n > this.bytes.byteLength) this.fail();
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  float(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  /** Skip a field of wire type `type`. */
  skip(type: number): void {
    if (type === 0) this.varint();
    else if (type === 1) this.take(8);
    else if (type === 2) this.take(this.varint());
    else if (type === 5) this.take(4);
    else this.fail();
  }
}

function readPiece(bytes: Uint8Array, file: string): VocabPiece {
  const w = new Wire(bytes, file);
  let piece = '';
  let score = 0;
  let kind: PieceKind = 'normal';
  while (!w.done) {
    const [field, type] = w.tag();
    if (field === 1 && type === 2) piece = new TextDecoder().decode(w.take(w.varint()));
    else if (field === 2 && type === 5) score = w.float();
    else if (field === 3 && type === 0) kind = KINDS[w.varint()] ?? 'normal';
    else w.skip(type);
  }
  return { piece, score, kind };
}

/** The trainer's `model_type` (1 unigram, 2 BPE, 3 word, 4 char), or null if unset. */
function readModelType(bytes: Uint8Array, file: string): number | null {
  const w = new Wire(bytes, file);
  let type: number | null = null;
  while (!w.done) {
    const [field, wire] = w.tag();
    if (field === 3 && wire === 0) type = w.varint();
    else w.skip(wire);
  }
  return type;
}

/**
 * Read the vocabulary of a sentencepiece BPE `.model` file. A unigram (or other
 * non-BPE) model is a FormatError: its pieces cannot be turned into BPE merges.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file = '<buffer>'): VocabPiece[] {
  const w = new Wire(bytes, file);
  const pieces: VocabPiece[] = [];
  let modelType: number | null = null;
  while (!w.done) {
    const [field, type] = w.tag();
    if (field === 1 && type === 2) pieces.push(readPiece(w.take(w.varint()), file));
    else if (field === 2 && type === 2) modelType = readModelType(w.take(w.varint()), file);
    else w.skip(type);
  }
  if (pieces.length === 0) throw new FormatError(file, 'no pieces: not a sentencepiece model');
  if (modelType !== 2) {
    throw new FormatError(
      file,
      `sentencepiece model type is ${modelType ?? 'unigram (default)'}, not BPE`,
      'only BPE vocabularies (llama2.c train_vocab, LLaMA) convert to a BPE tokenizer.json',
    );
  }
  return pieces;
}
