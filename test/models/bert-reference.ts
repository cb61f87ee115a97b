// Float64 BERT for the tests, written from the Hugging Face description
// (`modeling_bert.py`: embeddings + LayerNorm, post-LN layers, exact erf GELU) on
// the checkpoint-named tensors (`bert.encoder.layer.0.attention.self.query.weight`),
// independent of models/ and src/.

/** The tiny config the BERT tests use. */
export const base = {
  model_type: 'bert',
  vocab_size: 25,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 16,
  initializer_range: 0.4,
};

/** Checkpoint tensors by name, as plain arrays. */
export type W = Record<string, number[]>;

/** erf by Simpson's rule on 2/sqrt(pi) exp(-t^2), 400 intervals (error ~1e-9 for |x| <= 3). */
export function erf(x: number): number {
  const n = 400;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}

/** Exact GELU `x Φ(x)` (PyTorch `nn.GELU()`, BERT's `gelu`). */
export const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** LayerNorm with eps 1e-12 (BERT). */
export function ln(x: number[], g: number[], b: number[]): number[] {
  const m = x.reduce((a, v) => a + v, 0) / x.length;
  const v = x.reduce((a, t) => a + (t - m) ** 2, 0) / x.length;
  return x.map((t, i) => ((t - m) / Math.sqrt(v + 1e-12)) * g[i] + b[i]);
}

/** `W [out, in] x + b` (PyTorch Linear layout). */
export function dense(x: number[], w: number[], b: number[]): number[] {
  return b.map((bj, j) => x.reduce((a, xi, i) => a + xi * w[j * x.length + i], bj));
}

/** Float64 BERT: final hidden states `[N][D]` of one row; `mask[j]` = 1 for tokens. */
export function bertRef(w: W, ids: number[], mask: number[]): number[][] {
  const { hidden_size: D, num_attention_heads: H } = base;
  const d = D / H;
  const e = (n: string) => w[`bert.embeddings.${n}`];
  let x = ids.map((t, p) =>
    ln(
      Array.from(
        { length: D },
        (_, j) =>
          e('word_embeddings.weight')[t * D + j] +
          e('position_embeddings.weight')[p * D + j] +
          e('token_type_embeddings.weight')[j],
      ),
      e('LayerNorm.weight'),
      e('LayerNorm.bias'),
    ),
  );
  for (let l = 0; l < base.num_hidden_layers; l++) {
    const p = (n: string) => w[`bert.encoder.layer.${l}.${n}`];
    const lin = (r: number[], n: string) => dense(r, p(`${n}.weight`), p(`${n}.bias`));
    const [q, k, v] = ['query', 'key', 'value'].map((n) =>
      x.map((r) => lin(r, `attention.self.${n}`)),
    );
    const ctx = q.map((qi) =>
      Array.from({ length: H }, (_, h) => {
        const s = k.map((kj, j) => {
          let dot = 0;
          for (let t = 0; t < d; t++) dot += qi[h * d + t] * kj[h * d + t];
          return mask[j] ? dot / Math.sqrt(d) : -Infinity;
        });
        const m = Math.max(...s);
        const ex = s.map((z) => Math.exp(z - m));
        const zsum = ex.reduce((a, b) => a + b, 0);
        return Array.from({ length: d }, (_, t) =>
          ex.reduce((a, ej, j) => a + (ej / zsum) * v[j][h * d + t], 0),
        );
      }).flat(),
    );
    const hA = x.map((r, i) =>
      ln(
        lin(ctx[i], 'attention.output.dense').map((z, j) => z + r[j]),
        p('attention.output.LayerNorm.weight'),
        p('attention.output.LayerNorm.bias'),
      ),
    );
    x = hA.map((r) =>
      ln(
        lin(lin(r, 'intermediate.dense').map(gelu), 'output.dense').map((z, j) => z + r[j]),
        p('output.LayerNorm.weight'),
        p('output.LayerNorm.bias'),
      ),
    );
  }
  return x;
}
