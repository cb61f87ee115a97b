// `npm run bench`: every benchmark of snnlm, JSON on stdout (progress on stderr).
// Each figure comes with a baseline measured in the same run, so ratios, not
// bare times, are what to compare across machines.
//   npm run -s bench                  all workloads (-s keeps npm's banner off stdout)
//   npm run -s bench -- --quick       fewer repetitions
//   npm run -s bench -- --only lif    workloads whose name contains "lif"
//   npm run -s bench -- --out F.json  where the copy of the JSON goes (default below)
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { benchDataParallel } from './data-parallel.js';
import { benchMatmul } from './matmul.js';
import { benchMatmulRoutes } from './matmul-routes.js';
import { benchModels } from './models.js';
import { benchEvalPiqa } from './eval-piqa.js';
import { benchNeurons } from './neurons.js';
import { benchServeLoad } from './serve-load.js';
import { benchStudentMemory } from './student-memory.js';
import { benchVisionMemory } from './vision-memory.js';

type Workload = { name: string; run: (reps: number) => Promise<unknown> };

const workloads: Workload[] = [
  {
    name: 'matmul_fp32',
    run: async (reps) => ({
      n512: await benchMatmul(512, reps),
      n1024: await benchMatmul(1024, reps),
    }),
  },
  { name: 'matmul_routes', run: (reps) => benchMatmulRoutes(reps) },
  { name: 'lif_vs_relu_fwd_bwd', run: (reps) => benchNeurons(reps) },
  { name: 'lm_prefill_decode', run: (reps) => benchModels(reps) },
  // 16 streaming clients against the served teacher and student (10 s each with --quick).
  { name: 'serve_load', run: (reps) => benchServeLoad({ durationS: reps <= 3 ? 10 : 30 }) },
  { name: 'eval_piqa_examples_per_s', run: (reps) => benchEvalPiqa(reps) },
  { name: 'data_parallel_train', run: (reps) => benchDataParallel(reps) },
  { name: 'student_memory', run: (reps) => benchStudentMemory(reps < 7) },
  { name: 'vision_memory', run: () => benchVisionMemory() },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench/results/latest.json' },
    },
  });
  const info = await initBackend();
  const reps = values.quick ? 3 : 7;
  const results: Record<string, unknown> = {};
  for (const w of workloads) {
    if (values.only && !w.name.includes(values.only)) continue;
    process.stderr.write(`bench: ${w.name} ...\n`);
    const t0 = performance.now();
    results[w.name] = await w.run(reps);
    process.stderr.write(
      `bench: ${w.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  }
  const out = {
    snnlm_bench: 1,
    date: new Date().toISOString(),
    backend: info.backend,
    wasm_simd: info.wasm_simd,
    wasm_threads: info.wasm_threads,
    versions: info.versions,
    cpus: (await import('node:os')).cpus().length,
    reps,
    results,
  };
  const json = JSON.stringify(out, null, 2) + '\n';
  // stdout carries the JSON (npm prints its own banner there too: use `npm run -s bench`);
  // a copy goes to --out so a run is never lost in a scrolled terminal.
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, json);
  process.stderr.write(`bench: results written to ${values.out}\n`);
  process.stdout.write(json);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
