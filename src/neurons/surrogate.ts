// Surrogate gradients of the Heaviside step, as in SpikingJelly's `surrogate.py`
// (methods-vision.md 1(c) table): each surrogate is a small object with a smooth
// primitive g(x), its hand-written derivative psi(x) = g'(x), and the spike
// function (Heaviside forward, psi backward). x = H - V_th, not divided by V_th.
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { ConfigError, checkFinite } from '../errors.js';

/** The surrogate families snnlm knows. */
export const SURROGATE_NAMES = ['sigmoid', 'atan', 'rectangular', 'triangle'] as const;
/** One of `SURROGATE_NAMES`. */
export type SurrogateName = (typeof SURROGATE_NAMES)[number];

/** Library defaults of the shape parameter (methods-vision.md 1(c)). */
export const SURROGATE_DEFAULT_ALPHA: Readonly<Record<SurrogateName, number>> = {
  sigmoid: 4,
  atan: 2,
  rectangular: 1, // the width a
  triangle: 1,
};

/** A surrogate gradient: smooth primitive, its derivative and the spike function. */
export interface Surrogate {
  readonly name: SurrogateName;
  /** Shape parameter (slope for sigmoid/atan/triangle, width `a` for rectangular). */
  readonly alpha: number;
  /** Smooth primitive g(x) in tf ops (differentiable by tfjs autodiff). */
  primitive(x: Tensor): Tensor;
  /** Hand-written derivative psi(x) = g'(x) in tf ops. */
  grad(x: Tensor): Tensor;
  /** Heaviside forward (`x >= 0` fires) with `grad` as its backward. */
  spike(x: Tensor): Tensor;
  /** g(x) on one number (the fused kernel's smooth mode). */
  primitiveAt(x: number): number;
  /** psi(x) on one number (plain-JS loops and checks). */
  gradAt(x: number): number;
}

/** Heaviside step as float32: 1 where `x >= 0`, else 0. Not differentiable. */
export function heaviside(x: Tensor): Tensor {
  return tf.cast(tf.greaterEqual(x, 0), 'float32');
}

function makeSpike(grad: (x: Tensor) => Tensor): (x: Tensor) => Tensor {
  return tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: heaviside(x), // same shape as x
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.mul(dy, grad(saved[0])),
    };
  });
}

interface Formulas {
  primitive(x: Tensor, alpha: number): Tensor;
  grad(x: Tensor, alpha: number): Tensor;
  primitiveAt(x: number, alpha: number): number;
  gradAt(x: number, alpha: number): number;
}

const FORMULAS: Record<SurrogateName, Formulas> = {
  // g = sigmoid(alpha x), psi = alpha g (1 - g)
  sigmoid: {
    primitive: (x, a) => tf.sigmoid(tf.mul(x, a)),
    grad: (x, a) => {
      const g = tf.sigmoid(tf.mul(x, a));
      return tf.mul(tf.mul(g, tf.sub(1, g)), a);
    },
    primitiveAt: (x, a) => 1 / (1 + Math.exp(-a * x)),
    gradAt: (x, a) => {
      const g = 1 / (1 + Math.exp(-a * x));
      return a * g * (1 - g);
    },
  },
  // g = 1/2 + atan(pi alpha x / 2) / pi, psi = alpha / (2 (1 + (pi alpha x / 2)^2))
  atan: {
    primitive: (x, a) => tf.add(tf.div(tf.atan(tf.mul(x, (Math.PI * a) / 2)), Math.PI), 0.5),
    grad: (x, a) => tf.div(a / 2, tf.add(1, tf.square(tf.mul(x, (Math.PI * a) / 2)))),
    primitiveAt: (x, a) => 0.5 + Math.atan((Math.PI * a * x) / 2) / Math.PI,
    gradAt: (x, a) => {
      const z = (Math.PI * a * x) / 2;
      return a / (2 * (1 + z * z));
    },
  },
  // width a: g = clip(x/a + 1/2, 0, 1), psi = (1/a) 1[|x| <= a/2]
  rectangular: {
    primitive: (x, a) => tf.clipByValue(tf.add(tf.div(x, a), 0.5), 0, 1),
    grad: (x, a) => tf.div(tf.cast(tf.lessEqual(tf.abs(x), a / 2), 'float32'), a),
    primitiveAt: (x, a) => Math.min(1, Math.max(0, x / a + 0.5)),
    gradAt: (x, a) => (Math.abs(x) <= a / 2 ? 1 / a : 0),
  },
  // piecewise quadratic: with z = clip(alpha x, -1, 1), g = 1/2 + z - z|z|/2,
  // psi = max(0, alpha - alpha^2 |x|) (support |x| <= 1/alpha)
  triangle: {
    primitive: (x, a) => {
      const z = tf.clipByValue(tf.mul(x, a), -1, 1);
      return tf.add(tf.sub(z, tf.mul(tf.mul(z, tf.abs(z)), 0.5)), 0.5);
    },
    grad: (x, a) => tf.relu(tf.sub(a, tf.mul(tf.abs(x), a * a))),
    primitiveAt: (x, a) => {
      const z = Math.min(1, Math.max(-1, a * x));
      return 0.5 + z - 0.5 * z * Math.abs(z);
    },
    gradAt: (x, a) => Math.max(0, a - a * a * Math.abs(x)),
  },
};

/**
 * Build a surrogate by name; `alpha` defaults to the library default of that family.
 * Throws ConfigError for an unknown name (listing the allowed ones) or a bad alpha.
 */
export function surrogate(name: string, alpha?: number): Surrogate {
  if (!(SURROGATE_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `surrogate must be one of ${SURROGATE_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  const n = name as SurrogateName;
  const a = alpha ?? SURROGATE_DEFAULT_ALPHA[n];
  checkFinite(a, 'surrogate_alpha');
  if (a <= 0) throw new ConfigError(`surrogate_alpha must be > 0, got ${a}`);
  const f = FORMULAS[n];
  const grad = (x: Tensor): Tensor => tf.tidy(() => f.grad(x, a));
  return {
    name: n,
    alpha: a,
    primitive: (x) => f.primitive(x, a),
    grad,
    spike: makeSpike(grad),
    primitiveAt: (x) => f.primitiveAt(x, a),
    gradAt: (x) => f.gradAt(x, a),
  };
}

/** Fire on `x = H - V_th`: the spike function, or the smooth primitive in smooth mode. */
export function fire(sg: Surrogate, x: Tensor, smooth: boolean): Tensor {
  return smooth ? sg.primitive(x) : sg.spike(x);
}
