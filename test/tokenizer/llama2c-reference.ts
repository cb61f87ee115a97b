// An independent llama2.c-style BPE encoder/decoder for the tokenizer tests,
// written from the description in shared/models/MANIFEST.md (llama2.c's
// `encode`): BOS, a dummy-prefix space, one piece per code point (byte
// fallback to `byte + 3`), then repeatedly merge the adjacent pair whose
// concatenation is a piece with the highest score, leftmost on ties.

/** Encode `text` the way llama2.c's run.c does (BOS added, no EOS). */
export function llama2cEncode(
  text: string,
  pieces: readonly string[],
  scores: readonly number[],
): number[] {
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!ids.has(p)) ids.set(p, i);
  });
  const tokens: number[] = [];
  if (text.length > 0) tokens.push(ids.get(' ')!);
  for (const ch of text) {
    const id = ids.get(ch);
    if (id !== undefined) tokens.push(id);
    else for (const b of new TextEncoder().encode(ch)) tokens.push(b + 3);
  }
  for (;;) {
    let best = -Infinity;
    let at = -1;
    let merged = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = ids.get(pieces[tokens[i]] + pieces[tokens[i + 1]]);
      if (id !== undefined && scores[id] > best) {
        [best, at, merged] = [scores[id], i, id];
      }
    }
    if (at < 0) break;
    tokens.splice(at, 2, merged);
  }
  return [1, ...tokens];
}

/** Decode ids the way llama2.c does: byte pieces to bytes, no leading space after BOS. */
export function llama2cDecode(ids: readonly number[], pieces: readonly string[]): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  ids.forEach((id, i) => {
    if (id === 1 || id === 2) return;
    let piece = pieces[id];
    if (i > 0 && ids[i - 1] === 1 && piece.startsWith(' ')) piece = piece.slice(1);
    const byte = /^<0x([0-9A-F]{2})>$/.exec(piece);
    if (byte) bytes.push(parseInt(byte[1], 16));
    else bytes.push(...enc.encode(piece));
  });
  return new TextDecoder().decode(Uint8Array.from(bytes));
}
