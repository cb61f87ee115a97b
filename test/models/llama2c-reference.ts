// An independent float64 LLaMA forward for the tests, written from the
// description in shared/models/MANIFEST.md ("Binary layout of the llama2.c files"
// and "Forward pass it implies"): it reads the legacy llama2.c checkpoint itself
// (7 int32 header, then the weight groups stacked over layers) and runs the model
// one token at a time with adjacent-pair RoPE, as llama2.c `run.c` does. It shares
// no code with src/ or models/, and uses the original (non-reordered) q/k rows.
import { readFileSync } from 'node:fs';

/** Weights of a llama2.c legacy checkpoint, in float64. */
export interface Llama2cModel {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seqLen: number;
  emb: Float64Array; // [vocab, dim]
  attNorm: Float64Array[]; // layers x [dim]
  wq: Float64Array[]; // layers x [dim, dim]
  wk: Float64Array[]; // layers x [kvDim, dim]
  wv: Float64Array[];
  wo: Float64Array[]; // layers x [dim, dim]
  ffnNorm: Float64Array[];
  w1: Float64Array[]; // layers x [hidden, dim]
  w2: Float64Array[]; // layers x [dim, hidden]
  w3: Float64Array[]; // layers x [hidden, dim]
  finalNorm: Float64Array; // [dim]
}

/** Read a legacy (version 0) llama2.c checkpoint with a shared classifier. */
export function readLlama2c(path: string): Llama2cModel {
  const buf = readFileSync(path);
  const hdr = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = Array.from(hdr);
  if (vocab <= 0) throw new Error('reference reader handles shared classifiers only');
  const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length));
  let at = 0;
  const take = (n: number) => Float64Array.from(f.subarray(at, (at += n)));
  const stack = (n: number) => Array.from({ length: layers }, () => take(n));
  const kvDim = (dim * kvHeads) / heads;
  const m: Llama2cModel = {
    ...{ dim, hidden, layers, heads, kvHeads, vocab, seqLen },
    emb: take(vocab * dim),
    attNorm: stack(dim),
    wq: stack(dim * dim),
    wk: stack(kvDim * dim),
    wv: stack(kvDim * dim),
    wo: stack(dim * dim),
    ffnNorm: stack(dim),
    w1: stack(hidden * dim),
    w2: stack(dim * hidden),
    w3: stack(hidden * dim),
    finalNorm: take(dim),
  };
  const ropeTables = 2 * seqLen * (dim / heads / 2);
  if (at + ropeTables !== f.length)
    throw new Error(`unexpected file size (${at} + ${ropeTables} != ${f.length})`);
  return m;
}

function matvec(w: Float64Array, x: Float64Array, rows: number): Float64Array {
  const cols = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsnorm(x: Float64Array, w: Float64Array): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + 1e-5);
  return x.map((v, i) => v * inv * w[i]);
}

/**
 * Logits `[N][vocab]` of every position of `tokens`, float64, computed token by
 * token with a key/value cache exactly as MANIFEST.md describes.
 */
export function llama2cLogits(m: Llama2cModel, tokens: number[]): Float64Array[] {
  const hs = m.dim / m.heads;
  const kvDim = (m.dim * m.kvHeads) / m.heads;
  const group = m.heads / m.kvHeads;
  const keys: Float64Array[][] = Array.from({ length: m.layers }, () => []);
  const vals: Float64Array[][] = Array.from({ length: m.layers }, () => []);
  const out: Float64Array[] = [];
  tokens.forEach((tok, pos) => {
    let x = m.emb.slice(tok * m.dim, (tok + 1) * m.dim);
    for (let l = 0; l < m.layers; l++) {
      const h = rmsnorm(x, m.attNorm[l]);
      const q = matvec(m.wq[l], h, m.dim);
      const k = matvec(m.wk[l], h, kvDim);
      const v = matvec(m.wv[l], h, kvDim);
      for (const [vec, n] of [
        [q, m.dim],
        [k, kvDim],
      ] as [Float64Array, number][]) {
        for (let i = 0; i < n; i += 2) {
          const a = pos * Math.pow(10000, -(i % hs) / hs);
          const [c, s] = [Math.cos(a), Math.sin(a)];
          const [v0, v1] = [vec[i], vec[i + 1]];
          vec[i] = v0 * c - v1 * s;
          vec[i + 1] = v0 * s + v1 * c;
        }
      }
      keys[l].push(k);
      vals[l].push(v);
      const att = new Float64Array(m.dim);
      for (let hd = 0; hd < m.heads; hd++) {
        const kvh = Math.floor(hd / group);
        const scores = keys[l].map((kt) => {
          let s = 0;
          for (let j = 0; j < hs; j++) s += q[hd * hs + j] * kt[kvh * hs + j];
          return s / Math.sqrt(hs);
        });
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((p, t) => {
          for (let j = 0; j < hs; j++) att[hd * hs + j] += (p / z) * vals[l][t][kvh * hs + j];
        });
      }
      const o = matvec(m.wo[l], att, m.dim);
      x = x.map((xi, i) => xi + o[i]);
      const h2 = rmsnorm(x, m.ffnNorm[l]);
      const g = matvec(m.w1[l], h2, m.hidden);
      const u = matvec(m.w3[l], h2, m.hidden);
      const act = g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]);
      const f = matvec(m.w2[l], act, m.dim);
      x = x.map((xi, i) => xi + f[i]);
    }
    out.push(matvec(m.emb, rmsnorm(x, m.finalNorm), m.vocab));
  });
  return out;
}
