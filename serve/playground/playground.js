// The playground: sends the prompt to POST /v1/completions with `stream: true`
// and `spike_stats: true`, appends the streamed text, draws every token's
// per-layer firing rates as a column of a heat map, and keeps a running energy
// estimate next to an ANN of the same shape. Plain browser JavaScript, no build
// step, no external resources.
/* global document, fetch, TextDecoder, AbortController, localStorage, performance */

const $ = (id) => document.getElementById(id);
const canvas = $('spike-canvas');
const ctx2d = canvas.getContext('2d');
const LABEL_WIDTH = 170;

const state = {
  layers: [],
  columns: [], // firing_rates per generated token
  maxRate: 0,
  energy: 0,
  annEnergy: 0,
  spikes: 0,
  tokens: 0,
  start: 0,
  controller: null,
};

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

/** Energy in the most readable SI unit, from picojoules. */
function joules(pj) {
  const units = [
    [1e12, 'J'],
    [1e9, 'mJ'],
    [1e6, 'µJ'],
    [1e3, 'nJ'],
  ];
  for (const [scale, unit] of units) if (pj >= scale) return `${(pj / scale).toFixed(2)} ${unit}`;
  return `${pj.toFixed(1)} pJ`;
}

/** Black → red → yellow → white for t in [0, 1]. */
function heat(t) {
  const r = Math.min(1, t * 3);
  const g = Math.min(1, Math.max(0, t * 3 - 1));
  const b = Math.min(1, Math.max(0, t * 3 - 2));
  return `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ${Math.round(b * 255)})`;
}

function drawMessage(text) {
  ctx2d.fillStyle = '#000';
  ctx2d.fillRect(0, 0, canvas.width, canvas.height);
  ctx2d.fillStyle = '#bbb';
  ctx2d.font = '14px system-ui, sans-serif';
  ctx2d.fillText(text, 12, 24);
}

function drawSpikes() {
  const { layers, columns } = state;
  canvas.dataset.columns = String(columns.length);
  canvas.dataset.layers = String(layers.length);
  if (layers.length === 0) {
    drawMessage(
      columns.length > 0 || state.tokens > 0
        ? 'No spiking layers: an ANN model (every operation is a multiply-accumulate).'
        : 'Spikes appear here while tokens stream.',
    );
    return;
  }
  const rowHeight = Math.max(6, Math.min(22, Math.floor((canvas.height - 20) / layers.length)));
  const plotWidth = canvas.width - LABEL_WIDTH;
  const colWidth = Math.max(1, Math.min(14, plotWidth / Math.max(1, columns.length)));
  ctx2d.fillStyle = '#000';
  ctx2d.fillRect(0, 0, canvas.width, canvas.height);
  ctx2d.font = `${Math.min(12, rowHeight - 1)}px system-ui, sans-serif`;
  ctx2d.fillStyle = '#ccc';
  layers.forEach((name, r) =>
    ctx2d.fillText(name, 4, r * rowHeight + rowHeight - 3, LABEL_WIDTH - 8),
  );
  const max = state.maxRate > 0 ? state.maxRate : 1;
  columns.forEach((rates, c) => {
    rates.forEach((rate, r) => {
      ctx2d.fillStyle = heat(rate / max);
      ctx2d.fillRect(LABEL_WIDTH + c * colWidth, r * rowHeight, Math.ceil(colWidth), rowHeight - 1);
    });
  });
  ctx2d.fillStyle = '#ccc';
  ctx2d.fillText(
    `${columns.length} tokens · max rate ${state.maxRate.toFixed(3)}`,
    LABEL_WIDTH,
    Math.min(canvas.height - 4, layers.length * rowHeight + 14),
  );
}

function drawEnergy() {
  const ann = state.annEnergy;
  $('snn-energy').textContent = joules(state.energy);
  $('ann-energy').textContent = joules(ann);
  $('snn-bar').style.width = ann > 0 ? `${Math.min(100, (100 * state.energy) / ann)}%` : '0';
  $('ann-bar').style.width = ann > 0 ? '100%' : '0';
  const seconds = (performance.now() - state.start) / 1000;
  const ratio = ann > 0 ? state.energy / ann : null;
  $('energy-summary').textContent =
    `${state.tokens} tokens, ${(state.tokens / Math.max(seconds, 1e-3)).toFixed(1)} tokens/s, ` +
    `${state.spikes.toLocaleString()} spikes` +
    (ratio === null ? '' : `, SNN/ANN energy ${(100 * ratio).toFixed(1)}%`);
}

function onChunk(chunk) {
  const choice = chunk.choices && chunk.choices[0];
  if (choice && choice.text) $('completion').textContent += choice.text;
  const s = chunk.snnlm;
  if (s) {
    if (s.layers) state.layers = s.layers;
    state.columns.push(s.firing_rates);
    for (const r of s.firing_rates) state.maxRate = Math.max(state.maxRate, r);
    state.energy += s.energy_pj;
    state.annEnergy += s.ann_energy_pj;
    state.spikes += s.spikes;
    state.tokens += 1;
    drawSpikes();
    drawEnergy();
  }
  if (choice && choice.finish_reason) $('status').textContent = `finished: ${choice.finish_reason}`;
}

/** Read an SSE body, calling `onData` with each parsed `data:` payload. */
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

async function generate() {
  Object.assign(state, {
    layers: [],
    columns: [],
    maxRate: 0,
    energy: 0,
    annEnergy: 0,
    spikes: 0,
    tokens: 0,
    start: performance.now(),
    controller: new AbortController(),
  });
  const prompt = $('prompt').value;
  $('prompt-echo').textContent = prompt;
  $('completion').textContent = '';
  $('status').textContent = 'generating…';
  $('generate').disabled = true;
  $('stop').disabled = false;
  localStorage.setItem('snnlm-api-key', $('api-key').value);
  drawSpikes();
  const seed = $('seed').value.trim();
  const body = {
    prompt,
    max_tokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value),
    top_p: Number($('top-p').value),
    stream: true,
    spike_stats: true,
    stream_options: { include_usage: true },
    ...(seed === '' ? {} : { seed: Number(seed) }),
  };
  try {
    const res = await fetch('v1/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(body),
      signal: state.controller.signal,
    });
    if (!res.ok) {
      const err = await res.json().catch(() => null);
      throw new Error(err && err.error ? err.error.message : `HTTP ${res.status}`);
    }
    await readEvents(res.body, (data) => {
      if (data.error) throw new Error(data.error.message);
      onChunk(data);
    });
    drawSpikes();
  } catch (e) {
    $('status').textContent = e.name === 'AbortError' ? 'stopped' : `error: ${e.message}`;
  } finally {
    $('generate').disabled = false;
    $('stop').disabled = true;
  }
}

async function loadInfo() {
  try {
    const res = await fetch('v1/models', { headers: headers() });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const m = (await res.json()).data[0];
    const t = m.meta.time_steps ? `, T = ${m.meta.time_steps}` : '';
    $('model-info').textContent =
      `${m.id}: ${m.meta.model_type}, ${m.meta.n_params.toLocaleString()} parameters, ` +
      `context ${m.meta.n_ctx_train}${t}`;
  } catch (e) {
    $('model-info').textContent =
      `model info unavailable (${e.message}); set the API key if the server needs one`;
  }
}

$('api-key').value = localStorage.getItem('snnlm-api-key') || '';
$('generate').addEventListener('click', generate);
$('stop').addEventListener('click', () => state.controller && state.controller.abort());
$('api-key').addEventListener('change', loadInfo);
drawSpikes();
loadInfo();
