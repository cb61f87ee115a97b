// Float64 references for the softmax-attention tests, written from the
// definitions (Vaswani et al. 2017; RoFormer; llama2.c `run.c` for adjacent-pair
// RoPE; HF `rotate_half`), on plain nested arrays, independent of src/attention.
// (reference.ts beside it belongs to the spiking-attention tests.)

/** `[B][H][N][d]` as nested arrays. */
export type Arr4 = number[][][][];

/** Seeded uniform [-scale, scale) values rounded through float32 (mulberry32). */
export function rand(n: number, seed: number, scale = 1): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out.push(Math.fround((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 * scale - scale));
  }
  return out;
}

/** Reshape a flat row-major array into `[B][H][N][d]`. */
export function to4(flat: ArrayLike<number>, [B, H, N, d]: number[]): Arr4 {
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: H }, (_, h) =>
      Array.from({ length: N }, (_, n) =>
        Array.from({ length: d }, (_, j) => flat[((b * H + h) * N + n) * d + j]),
      ),
    ),
  );
}

/** Flatten nested arrays row-major. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap((y) => flat(y)) : [x as number];
}

/**
 * Softmax attention in float64. q `[B][H][Nq][d]`, k/v `[B][Hkv][Nk][d]`; query
 * head h uses kv head floor(h / (H / Hkv)). `allowed(b, i, j)` says whether query
 * i of row b may see key j. Returns `{ out [B][H][Nq][dv], probs [B][H][Nq][Nk] }`.
 */
export function attentionRef(
  q: Arr4,
  k: Arr4,
  v: Arr4,
  allowed: (b: number, i: number, j: number) => boolean,
  scale = 1 / Math.sqrt(q[0][0][0].length),
): { out: Arr4; probs: Arr4 } {
  const G = q[0].length / k[0].length;
  const probs: Arr4 = [];
  const out: Arr4 = [];
  q.forEach((qb, b) => {
    probs.push([]);
    out.push([]);
    qb.forEach((qh, h) => {
      const kh = k[b][Math.floor(h / G)];
      const vh = v[b][Math.floor(h / G)];
      const ph = qh.map((qi, i) => {
        const s = kh.map((kj, j) =>
          allowed(b, i, j) ? scale * qi.reduce((acc, x, t) => acc + x * kj[t], 0) : -Infinity,
        );
        const m = Math.max(...s);
        const e = s.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
        const z = e.reduce((a, c) => a + c, 0);
        return e.map((x) => x / z);
      });
      probs[b].push(ph);
      out[b].push(
        ph.map((p) => vh[0].map((_, t) => p.reduce((acc, pj, j) => acc + pj * vh[j][t], 0))),
      );
    });
  });
  return { out, probs };
}

/** Adjacent-pair RoPE (llama2.c) of one head vector at position `pos`, float64. */
export function ropeInterleavedRef(x: number[], pos: number, theta = 10000): number[] {
  const d = x.length;
  const y = x.slice();
  for (let i = 0; i < d; i += 2) {
    const a = pos * Math.pow(theta, -i / d);
    const [c, s] = [Math.cos(a), Math.sin(a)];
    y[i] = x[i] * c - x[i + 1] * s;
    y[i + 1] = x[i] * s + x[i + 1] * c;
  }
  return y;
}

/** Rotate-half RoPE (Hugging Face) of one head vector at position `pos`, float64. */
export function ropeHalfRef(x: number[], pos: number, theta = 10000): number[] {
  const d = x.length;
  const h = d / 2;
  const y = x.slice();
  for (let i = 0; i < h; i++) {
    const a = pos * Math.pow(theta, (-2 * i) / d);
    const [c, s] = [Math.cos(a), Math.sin(a)];
    y[i] = x[i] * c - x[i + h] * s;
    y[i + h] = x[i + h] * c + x[i] * s;
  }
  return y;
}

/** Largest |a - b| over two equal-length arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
