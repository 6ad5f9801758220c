// The Sluice dashboard: polls the coordinator's JSON API every second and redraws.
// Plain JS and inline SVG, no build step and no outside resources.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const BOX_W = 190, BOX_H = 84, COL_GAP = 90, ROW_GAP = 26, PAD = 14;
const BACKPRESSURED = 0.5; // as StageFigures.BACKPRESSURED on the coordinator
const IDLE_RATE = 0.05;

let topology = null;
let topologyAt = 0;
let history = [];
let historyCapacity = 600;
let seq = 0;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

function rate(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M';
  if (v >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  if (v >= 10) return Math.round(v).toLocaleString('en');
  return v.toFixed(1);
}

function pct(r) { return Math.round(r * 100) + '%'; }

function watermark(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms >= 9e18) return 'end';
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return ms + ' ms';
  if (ms < 120000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 7200000) return (ms / 60000).toFixed(1) + ' min';
  if (ms < 172800000) return (ms / 3600000).toFixed(1) + ' h';
  return Math.round(ms / 86400000) + ' days';
}

function bytes(b) {
  if (b < 1024) return b + ' B';
  if (b < 1048576) return (b / 1024).toFixed(1) + ' KiB';
  if (b < 1073741824) return (b / 1048576).toFixed(1) + ' MiB';
  return (b / 1073741824).toFixed(2) + ' GiB';
}

function clock(ms) { return new Date(ms).toLocaleTimeString('en-GB'); }

function stageClass(s) {
  if (s.backpressuredRatio >= BACKPRESSURED) return 'backpressured';
  const r = Math.max(s.recordsInPerSecond, s.recordsOutPerSecond);
  return r < IDLE_RATE ? 'idle' : 'ok';
}

// Columns by topological depth (from the coordinator), rows in spec order within a column.
function layout(topo) {
  const cols = new Map();
  for (const n of topo.nodes) {
    if (!cols.has(n.depth)) cols.set(n.depth, []);
    cols.get(n.depth).push(n);
  }
  const maxRows = Math.max(1, ...[...cols.values()].map(c => c.length));
  const height = PAD * 2 + maxRows * BOX_H + (maxRows - 1) * ROW_GAP;
  const pos = new Map();
  for (const [depth, nodes] of cols) {
    const colH = nodes.length * BOX_H + (nodes.length - 1) * ROW_GAP;
    const top = (height - colH) / 2;
    nodes.forEach((n, i) => pos.set(n.name, {
      x: PAD + depth * (BOX_W + COL_GAP), y: top + i * (BOX_H + ROW_GAP) }));
  }
  const depths = Math.max(0, ...topo.nodes.map(n => n.depth)) + 1;
  return { pos, width: PAD * 2 + depths * BOX_W + (depths - 1) * COL_GAP, height };
}

function drawGraph(topo, status) {
  const g = document.getElementById('graph');
  const { pos, width, height } = layout(topo);
  g.setAttribute('viewBox', `0 0 ${width} ${height}`);
  g.style.maxWidth = width + 'px';
  g.style.height = height + 'px';
  g.replaceChildren();
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5',
    markerWidth: '8', markerHeight: '8', orient: 'auto-start-reverse' });
  marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#7b8794' }));
  defs.appendChild(marker);
  g.appendChild(defs);

  for (const e of topo.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + BOX_W, y1 = a.y + BOX_H / 2, x2 = b.x, y2 = b.y + BOX_H / 2;
    const mx = (x1 + x2) / 2;
    g.appendChild(svg('path', { class: 'edge', 'data-from': e.from, 'data-to': e.to,
      d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 - 1} ${y2}`, 'marker-end': 'url(#arrow)' }));
    const label = e.output ? e.output + ' · ' + e.partitioning : e.partitioning;
    g.appendChild(svg('text', { class: 'edge-label', x: mx, y: (y1 + y2) / 2 - 6,
      'text-anchor': 'middle' }, label));
  }

  const byName = new Map(status.stages.map(s => [s.name, s]));
  for (const n of topo.nodes) {
    const p = pos.get(n.name);
    const s = byName.get(n.name);
    const cls = s ? stageClass(s) : 'idle';
    const down = s && s.running < s.desiredParallelism;
    const grp = svg('g', { class: `stage ${cls}${down ? ' down' : ''}`, 'data-stage': n.name,
      'data-backpressured': String(cls === 'backpressured'),
      transform: `translate(${p.x},${p.y})` });
    grp.appendChild(svg('rect', { class: 'stage-box', width: BOX_W, height: BOX_H, rx: 8 }));
    grp.appendChild(svg('text', { class: 'name', x: 10, y: 20 }, n.name));
    const replicas = s ? `${s.running}/${s.desiredParallelism}` : String(n.replicas);
    grp.appendChild(svg('text', { class: 'replicas', x: BOX_W - 10, y: 20, 'text-anchor': 'end' },
      `×${replicas}`));
    grp.appendChild(svg('text', { class: 'type', x: 10, y: 36 }, n.type));
    const r = s ? (n.depth === 0 && s.recordsInPerSecond === 0 ? s.recordsOutPerSecond
      : s.recordsInPerSecond) : 0;
    grp.appendChild(svg('text', { class: 'rate', x: 10, y: 55, 'data-rate': r.toFixed(3) },
      `${rate(r)} ev/s`));
    grp.appendChild(svg('text', { class: 'ratios', x: 10, y: 72 },
      s ? `busy ${pct(s.busyRatio)} · backpr. ${pct(s.backpressuredRatio)}` : 'no instances'));
    grp.appendChild(svg('rect', { class: 'bp-track', x: 0, y: BOX_H - 5, width: BOX_W, height: 5, rx: 2 }));
    grp.appendChild(svg('rect', { class: 'bp-bar', x: 0, y: BOX_H - 5,
      width: (s ? s.backpressuredRatio : 0) * BOX_W, height: 5, rx: 2 }));
    const title = svg('title', {}, s
      ? `${n.name}: ${s.running} of ${s.desiredParallelism} running; watermark ${watermark(s.watermark)}`
      : n.name);
    grp.appendChild(title);
    g.appendChild(grp);
  }
}

function drawStages(status) {
  const body = document.querySelector('#stages tbody');
  body.replaceChildren();
  for (const s of status.stages) {
    const tr = el('tr', { 'data-stage': s.name, class: stageClass(s) });
    const cells = [s.name, s.type, `${s.running}/${s.desiredParallelism}`,
      rate(s.recordsInPerSecond), rate(s.recordsOutPerSecond), pct(s.busyRatio),
      pct(s.backpressuredRatio), watermark(s.watermark), String(s.deadLetters)];
    cells.forEach(c => tr.appendChild(el('td', {}, c)));
    body.appendChild(tr);
  }
}

function drawHeader(status) {
  document.getElementById('pipeline').textContent = status.pipeline;
  const state = document.getElementById('state');
  state.textContent = status.state;
  state.className = 'badge ' + status.state;
  document.getElementById('global-watermark').textContent = watermark(status.globalWatermark);
  document.getElementById('global-lag').textContent = duration(status.globalWatermarkLagMillis);
  document.title = `${status.pipeline} · Sluice`;
}

function drawPlots(status) {
  const box = document.getElementById('plots');
  const W = 300, H = 90, TOP = 12;
  const seen = new Set();
  for (const s of status.stages) {
    seen.add(s.name);
    let card = box.querySelector(`.plot-card[data-stage="${CSS.escape(s.name)}"]`);
    if (!card) {
      card = el('div', { class: 'plot-card', 'data-stage': s.name });
      card.appendChild(el('h3', {}, s.name));
      card.querySelector('h3').appendChild(el('span', { class: 'now' }));
      card.appendChild(svg('svg', { class: 'plot', viewBox: `0 0 ${W} ${H}`,
        preserveAspectRatio: 'none', 'data-stage': s.name }));
      box.appendChild(card);
    }
    const points = history.map(h => h.stages[s.name]).filter(Boolean);
    const max = Math.max(1, ...points.map(p => p.rate));
    // At least a minute wide, so the first seconds are readable; up to the whole history kept.
    const step = W / Math.max(60, Math.min(historyCapacity, points.length) - 1);
    const x0 = W - (points.length - 1) * step;
    const y = v => H - 2 - (v / max) * (H - TOP - 4);
    const plot = card.querySelector('svg.plot');
    plot.replaceChildren();
    if (points.length > 0) {
      const bp = points.map((p, i) => `${(x0 + i * step).toFixed(1)},${(H - p.backpressuredRatio * (H - TOP)).toFixed(1)}`);
      plot.appendChild(svg('polygon', { class: 'bp',
        points: `${x0.toFixed(1)},${H} ${bp.join(' ')} ${W},${H}` }));
      plot.appendChild(svg('polyline', { class: 'rate', 'data-points': String(points.length),
        points: points.map((p, i) => `${(x0 + i * step).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ') }));
    }
    plot.appendChild(svg('text', { x: 4, y: 10 }, `max ${rate(max)} ev/s`));
    const last = points.length ? points[points.length - 1].rate : 0;
    card.querySelector('.now').textContent = `${rate(last)} ev/s`;
  }
  for (const card of [...box.children]) {
    if (!seen.has(card.dataset.stage)) card.remove();
  }
}

function drawCheckpoints(doc) {
  document.getElementById('no-checkpoints').hidden = doc.configured;
  document.getElementById('checkpoints').hidden = !doc.configured;
  const body = document.querySelector('#checkpoints tbody');
  body.replaceChildren();
  for (const c of doc.checkpoints.slice(0, 10)) {
    const tr = el('tr', { 'data-checkpoint': String(c.checkpointId) });
    tr.appendChild(el('td', {}, (c.savepoint ? 'savepoint ' : '') + c.checkpointId));
    tr.appendChild(el('td', { class: 'state-' + c.state }, c.state.replace('_', ' ')));
    tr.appendChild(el('td', {}, clock(c.triggeredAtMillis)));
    tr.appendChild(el('td', {}, c.state === 'in_progress' ? '…' : duration(c.durationMillis)));
    tr.appendChild(el('td', {}, c.state === 'completed' ? bytes(c.sizeBytes) : '–'));
    tr.appendChild(el('td', {}, c.state === 'completed' ? duration(c.maxAlignmentMillis) : '–'));
    tr.appendChild(el('td', { class: 'reason' }, c.failureReason));
    body.appendChild(tr);
  }
}

function drawErrors(doc) {
  const list = document.getElementById('errors');
  list.replaceChildren();
  for (const e of doc.errors) {
    const li = el('li', { 'data-kind': e.kind });
    li.appendChild(el('span', { class: 'when' }, clock(e.atMillis)));
    li.appendChild(el('span', { class: 'kind' }, e.kind.replace(/_/g, ' ')));
    li.appendChild(el('span', { class: 'source' }, e.source));
    li.appendChild(document.createTextNode(e.message));
    list.appendChild(li);
  }
  document.getElementById('no-errors').hidden = doc.errors.length > 0;
}

async function refreshHistory() {
  const since = history.length ? history[history.length - 1].atMillis : null;
  const doc = await getJson('/api/history' + (since === null ? '' : '?since=' + since));
  historyCapacity = doc.capacity;
  const minutes = Math.round(doc.capacity * doc.intervalMillis / 60000);
  document.getElementById('history-span').textContent = minutes + ' minutes';
  history = history.concat(doc.samples).slice(-historyCapacity);
}

async function refresh() {
  try {
    // The graph changes only on a scale: its layout is fetched every few seconds.
    if (topology === null || Date.now() - topologyAt > 5000) {
      topology = await getJson('/api/topology');
      topologyAt = Date.now();
    }
    const [status, checkpoints, errors] = await Promise.all([
      getJson('/api/status'), getJson('/api/checkpoints'), getJson('/api/errors'),
      refreshHistory()]);
    drawHeader(status);
    drawGraph(topology, status);
    drawStages(status);
    drawPlots(status);
    drawCheckpoints(checkpoints);
    drawErrors(errors);
    seq++;
    const updated = document.getElementById('updated');
    updated.dataset.seq = String(seq);
    updated.textContent = `updated ${clock(status.generatedAtMillis)} · #${seq}`;
    document.getElementById('offline').hidden = true;
  } catch (e) {
    document.getElementById('offline').hidden = false;
    console.warn('dashboard refresh failed', e);
  } finally {
    setTimeout(refresh, 1000);
  }
}

refresh();
