// `--report report.html`: a self-contained HTML page (inline SVG, no scripts, no network)
// with the plots readers of a spiking-LM evaluation look for: accuracy per task (model vs
// teacher, ± stderr), energy per example (model vs teacher, log scale) and the firing
// rate of every spiking layer input, per task. Built from the results JSON alone.
import type { SpikeSummary } from './results.js';

type Json = Record<string, unknown>;

const COLORS = [
  '#3366cc',
  '#dc7633',
  '#2e8b57',
  '#8e44ad',
  '#c0392b',
  '#16a085',
  '#7f8c8d',
  '#d4ac0d',
];

/** HTML/XML escape. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

interface Series {
  name: string;
  values: (number | null)[];
  errors?: (number | null)[];
}

const W = 720;
const H = 340;
const M = { left: 70, right: 20, top: 30, bottom: 110 };

/** Legend items in rows that wrap at the chart width; `extra` = height beyond one row. */
function legend(series: readonly { name: string }[]): { svg: string; extra: number } {
  let x = M.left;
  let row = 0;
  const items = series.map((s, i) => {
    const w = 40 + 7 * s.name.length;
    if (x > M.left && x + w > W - M.right) {
      x = M.left;
      row++;
    }
    const y = 8 + 16 * row;
    const item =
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>` +
      `<text x="${x + 18}" y="${y + 10}" font-size="12">${escapeHtml(s.name)}</text>`;
    x += w;
    return item;
  });
  return { svg: items.join(''), extra: 16 * row };
}

/** A figure: the legend on top, the plot shifted below it. */
function figure(title: string, series: readonly { name: string }[], plot: string): string {
  const l = legend(series);
  const h = H + l.extra;
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">${l.svg}<g transform="translate(0 ${l.extra})">${plot}</g></svg></figure>`;
}

/** Grouped bar chart; `log` plots log10 of positive values. */
export function barChart(
  title: string,
  categories: string[],
  series: Series[],
  opts: { yLabel: string; log?: boolean; max?: number },
): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const all = series
    .flatMap((s) => s.values.map((v, i) => (v ?? 0) + (s.errors?.[i] ?? 0)))
    .filter((v) => v > 0);
  const tf = (v: number) => (opts.log ? Math.log10(v) : v);
  let lo = opts.log ? Math.floor(Math.log10(all.length > 0 ? Math.min(...all) : 1)) : 0;
  let hi =
    opts.max ??
    (opts.log
      ? Math.ceil(Math.log10(all.length > 0 ? Math.max(...all) : 10))
      : Math.max(...all, 1e-12) * 1.1);
  if (opts.log && hi <= lo) hi = lo + 1;
  if (!opts.log && hi <= lo) [lo, hi] = [0, 1];
  const y = (v: number) => M.top + plotH * (1 - (tf(v) - lo) / (hi - lo));
  const groupW = plotW / Math.max(categories.length, 1);
  const barW = (groupW * 0.8) / Math.max(series.length, 1);
  const parts: string[] = [];
  // Axis ticks.
  const ticks = opts.log
    ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
    : [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  for (const t of ticks) {
    const yy = M.top + plotH * (1 - (t - lo) / (hi - lo));
    const label = opts.log ? `1e${t}` : Number(t.toPrecision(3)).toString();
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${yy + 4}" font-size="11" text-anchor="end">${label}</text>`,
    );
  }
  series.forEach((s, k) => {
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || (opts.log && v <= 0)) return;
      const x = M.left + i * groupW + groupW * 0.1 + k * barW;
      const top = y(v);
      const base = opts.log ? M.top + plotH : y(lo);
      parts.push(
        `<rect class="bar" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barW * 0.9).toFixed(1)}" height="${Math.max(0, base - top).toFixed(1)}" fill="${COLORS[k % COLORS.length]}"><title>${escapeHtml(`${s.name} ${categories[i]}: ${v.toPrecision(4)}`)}</title></rect>`,
      );
      const e = s.errors?.[i];
      if (e && Number.isFinite(e) && !opts.log) {
        const cx = x + barW * 0.45;
        parts.push(
          `<line x1="${cx}" x2="${cx}" y1="${y(v + e)}" y2="${y(Math.max(lo, v - e))}" stroke="#222"/>`,
        );
      }
    });
  });
  categories.forEach((c, i) => {
    const x = M.left + (i + 0.5) * groupW;
    parts.push(
      `<text x="${x}" y="${H - M.bottom + 16}" font-size="11" text-anchor="end" transform="rotate(-30 ${x} ${H - M.bottom + 16})">${escapeHtml(c)}</text>`,
    );
  });
  parts.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#444"/>`,
  );
  parts.push(
    `<text x="14" y="${M.top + plotH / 2}" font-size="12" transform="rotate(-90 14 ${M.top + plotH / 2})" text-anchor="middle">${escapeHtml(opts.yLabel)}</text>`,
  );
  return figure(title, series, parts.join(''));
}

/** Line chart of values per layer index, one line per series. */
export function lineChart(
  title: string,
  layers: string[],
  series: Series[],
  yLabel: string,
): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const hi =
    Math.max(...series.flatMap((s) => s.values.filter((v): v is number => v !== null)), 1e-6) * 1.1;
  const x = (i: number) =>
    M.left + (layers.length > 1 ? (plotW * i) / (layers.length - 1) : plotW / 2);
  const y = (v: number) => M.top + plotH * (1 - v / hi);
  const parts: string[] = [];
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const yy = M.top + plotH * (1 - f);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${yy + 4}" font-size="11" text-anchor="end">${Number((f * hi).toPrecision(2))}</text>`,
    );
  }
  series.forEach((s, k) => {
    const pts = s.values
      .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter((p) => p !== null);
    const color = COLORS[k % COLORS.length];
    parts.push(
      `<polyline class="line" fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`,
    );
    s.values.forEach((v, i) => {
      if (v !== null)
        parts.push(
          `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"><title>${escapeHtml(`${s.name} ${layers[i]}: ${v.toPrecision(3)}`)}</title></circle>`,
        );
    });
  });
  const step = Math.max(1, Math.ceil(layers.length / 24));
  layers.forEach((l, i) => {
    if (i % step !== 0) return;
    parts.push(
      `<text x="${x(i)}" y="${H - M.bottom + 14}" font-size="10" text-anchor="end" transform="rotate(-45 ${x(i)} ${H - M.bottom + 14})">${escapeHtml(l)}</text>`,
    );
  });
  parts.push(
    `<text x="14" y="${M.top + plotH / 2}" font-size="12" transform="rotate(-90 14 ${M.top + plotH / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  );
  return figure(title, series, parts.join(''));
}

/** The primary metric of a task block: acc, else the first metric. */
function primary(metrics: Json): { name: string; value: number; stderr: number | null } | null {
  const keys = Object.keys(metrics).filter((k) => k.endsWith(',none') && !k.includes('_stderr,'));
  const key = keys.includes('acc,none') ? 'acc,none' : keys[0];
  if (!key) return null;
  const name = key.slice(0, -',none'.length);
  const se = metrics[`${name}_stderr,none`];
  return { name, value: Number(metrics[key]), stderr: typeof se === 'number' ? se : null };
}

/** The report page of a results object (`buildResults`). */
export function renderReport(results: Json): string {
  const res = results.results as Record<string, Json>;
  const compare = results.compare as { model: string; results: Record<string, Json> } | undefined;
  const energy = results.energy as Record<
    string,
    { model: SpikeSummary | null; teacher?: SpikeSummary | null }
  >;
  const config = results.config as Json;
  const tasks = Object.keys(res);
  const base = (p: string) =>
    p
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() || p;
  const modelName = base(String(config.model_args ?? '').replace(/^pretrained=/, '')) || 'model';
  const teacherName = compare ? base(compare.model) : 'teacher';
  const figures: string[] = [];

  const accTasks = tasks.filter((t) => primary(res[t])?.name.startsWith('acc'));
  if (accTasks.length > 0) {
    const model: Series = {
      name: `${modelName} (${config.model_type as string})`,
      values: [],
      errors: [],
    };
    const teacher: Series = { name: teacherName, values: [], errors: [] };
    for (const t of accTasks) {
      const p = primary(res[t])!;
      model.values.push(p.value);
      model.errors!.push(p.stderr);
      const q = compare?.results[t] ? primary(compare.results[t]) : null;
      teacher.values.push(q ? q.value : null);
      teacher.errors!.push(q ? q.stderr : null);
    }
    figures.push(
      barChart(
        'Accuracy per task (acc, ± stderr)',
        accTasks,
        compare ? [model, teacher] : [model],
        { yLabel: 'accuracy', max: 1 },
      ),
    );
  }

  const eTasks = tasks.filter((t) => energy[t]?.model);
  if (eTasks.length > 0) {
    const series: Series[] = [
      { name: modelName, values: eTasks.map((t) => energy[t].model!.energy_per_example_mj) },
    ];
    if (compare)
      series.push({
        name: teacherName,
        values: eTasks.map((t) => energy[t].teacher?.energy_per_example_mj ?? null),
      });
    figures.push(
      barChart('Estimated energy per example (mJ, log scale)', eTasks, series, {
        yLabel: 'mJ / example',
        log: true,
      }),
    );
    // Firing rates of spiking inputs, per task, over the layers of the first task.
    const spiking = (s: SpikeSummary) =>
      s.firing_rate_per_layer.filter((l) => l.encoding !== 'real');
    const layers = spiking(energy[eTasks[0]].model!).map((l) => l.layer);
    if (layers.length > 0) {
      const series2 = eTasks.map((t) => {
        const rates = new Map(spiking(energy[t].model!).map((l) => [l.layer, l.firing_rate]));
        return { name: t, values: layers.map((l) => rates.get(l) ?? null) };
      });
      figures.push(
        lineChart(`Firing rate per layer input (${modelName})`, layers, series2, 'firing rate'),
      );
    } else {
      figures.push(
        `<p class="note">${escapeHtml(modelName)} has no spiking layers (all inputs are real-valued MACs).</p>`,
      );
    }
  }

  const rows = tasks
    .map((t) => {
      const p = primary(res[t]);
      const q = compare?.results[t] ? primary(compare.results[t]) : null;
      const e = energy[t];
      const cell = (x: number | null | undefined, d = 4) =>
        typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '';
      return `<tr><td>${escapeHtml(t)}</td><td>${escapeHtml(p?.name ?? '')}</td><td>${cell(p?.value)}</td><td>${cell(p?.stderr)}</td><td>${cell(q?.value)}</td><td>${e?.model ? e.model.energy_per_example_mj.toExponential(3) : ''}</td><td>${e?.teacher ? e.teacher.energy_per_example_mj.toExponential(3) : ''}</td><td>${cell(e?.model?.firing_rate, 3)}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>snnlm eval report</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}.note{color:#555}</style>
</head><body>
<h1>snnlm evaluation report</h1>
<p>Model: <code>${escapeHtml(modelName)}</code> (${escapeHtml(String(config.model_type))})${compare ? `, teacher: <code>${escapeHtml(teacherName)}</code>` : ''}; limit ${escapeHtml(String(config.limit))}, scoring ${escapeHtml(String(config.scoring_path))}, backend ${escapeHtml(String(config.backend))}.</p>
<table><tr><th>task</th><th>metric</th><th>value</th><th>stderr</th><th>teacher</th><th>mJ/example</th><th>teacher mJ/example</th><th>firing rate</th></tr>${rows}</table>
${figures.join('\n')}
</body></html>
`;
}
