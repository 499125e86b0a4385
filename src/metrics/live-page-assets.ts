/**
 * The live page: one HTML document and one browser script, served by tangent
 * itself at `/` on the metrics port. The script polls /live/history.json and
 * draws with uPlot (served from node_modules at /live/uplot.js): no CDN, no
 * external service. `window.tangentLive` exposes the charts for inspection.
 */
export const livePageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tangent · live</title>
<link rel="stylesheet" href="/live/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #fafafa; color: #222; }
  header { padding: 12px 20px; background: #1f2937; color: #f9fafb; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header .stat { color: #d1d5db; }
  header .stat b { color: #fff; }
  main { padding: 12px 20px; }
  h2 { font-size: 15px; margin: 18px 0 6px; color: #374151; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 12px; }
  .panel { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px; }
  .panel h3 { font-size: 13px; margin: 0 0 4px; color: #4b5563; font-weight: 600; }
  .empty { color: #9ca3af; font-style: italic; }
  footer { padding: 8px 20px 16px; color: #6b7280; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>tangent · live</h1>
  <span class="stat" id="build"></span>
  <span class="stat">learned <b id="learned">0</b></span>
  <span class="stat">dead-lettered <b id="dead">0</b></span>
  <span class="stat">throughput <b id="rate">0</b>/s</span>
  <span class="stat">lag <b id="lag">0</b></span>
</header>
<main>
  <h2>Prequential error per task: the network (nn) and the NTK-GP baseline, drift detections marked</h2>
  <div class="grid" id="tasks"><div class="empty">waiting for the first scored records…</div></div>
  <h2>Stream</h2>
  <div class="grid">
    <div class="panel"><h3>Throughput (records/s) and consumer lag (records)</h3><div id="throughput"></div></div>
    <div class="panel"><h3>Dead letters by reason (cumulative)</h3><div id="deadletters"></div></div>
    <div class="panel"><h3>Learning rate η in use and stability margin η·(λmax+λmin)/2 (stable below 1)</h3><div id="stability"></div></div>
  </div>
</main>
<footer>Served by tangent from its metrics port; the same numbers are on <a href="/metrics">/metrics</a>. Updates every second; keeps the last hour.</footer>
<script src="/live/uplot.js"></script>
<script src="/live/app.js"></script>
</body>
</html>
`;

export const livePageScript = String.raw`'use strict';
(function () {
  const palette = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#4b5563'];
  const modelColours = { nn: '#2563eb', ntkgp: '#dc2626' };
  const keep = 3600;
  const state = { samples: [], since: 0, charts: {}, signatures: {}, build: null, polls: 0 };
  window.tangentLive = state;

  function widthOf(el) {
    return Math.max(320, Math.floor(el.getBoundingClientRect().width) - 4);
  }

  function chart(id, el, signature, series, data, extra) {
    const existing = state.charts[id];
    if (existing && state.signatures[id] === signature) {
      existing.setData(data);
      return existing;
    }
    if (existing) existing.destroy();
    el.innerHTML = '';
    const options = Object.assign(
      { width: widthOf(el), height: 220, series: [{}].concat(series), axes: [{}, { size: 60 }], legend: { live: true } },
      extra || {},
    );
    const made = new uPlot(options, data, el);
    state.charts[id] = made;
    state.signatures[id] = signature;
    return made;
  }

  function line(label, stroke, scale) {
    return { label: label, stroke: stroke, width: 1.5, scale: scale || 'y', spanGaps: true, points: { show: false } };
  }

  function marks(label, stroke) {
    // Drift detections: points only, drawn on the model's curve where a detection happened.
    return { label: label, stroke: stroke, fill: stroke, width: 0, paths: function () { return null; }, points: { show: true, size: 11, stroke: stroke, fill: '#fff', width: 2 } };
  }

  function keysOf(rows) {
    const keys = new Set();
    for (const row of rows) for (const key of Object.keys(row || {})) keys.add(key);
    return Array.from(keys).sort();
  }

  function valueOr(v, fallback) {
    return typeof v === 'number' && isFinite(v) ? v : fallback;
  }

  function renderTasks(x) {
    const samples = state.samples;
    const tasks = keysOf(samples.map(function (s) { return s.mae; }));
    const container = document.getElementById('tasks');
    if (tasks.length === 0) return;
    const empty = container.querySelector('.empty');
    if (empty) empty.remove();
    for (const task of tasks) {
      const id = 'task:' + task;
      let panel = document.getElementById(id);
      if (!panel) {
        panel = document.createElement('div');
        panel.className = 'panel';
        panel.id = id;
        panel.innerHTML = '<h3></h3><div class="plot"></div>';
        panel.querySelector('h3').textContent = 'task ' + task + ' · prequential MAE (last metrics.maeWindow records)';
        container.appendChild(panel);
      }
      const models = keysOf(samples.map(function (s) { return s.mae[task]; }));
      const series = [];
      const data = [x];
      for (const model of models) {
        series.push(line('MAE ' + model, modelColours[model] || '#4b5563'));
        data.push(samples.map(function (s) { return s.mae[task] ? valueOr(s.mae[task][model], null) : null; }));
      }
      for (const model of models) {
        series.push(marks('drift ' + model, modelColours[model] || '#4b5563'));
        data.push(samples.map(function (s, i) {
          if (i === 0) return null;
          const now = s.drifts[task] ? valueOr(s.drifts[task][model], 0) : 0;
          const before = samples[i - 1].drifts[task] ? valueOr(samples[i - 1].drifts[task][model], 0) : 0;
          if (now <= before) return null;
          return s.mae[task] ? valueOr(s.mae[task][model], 0) : 0;
        }));
      }
      chart(id, panel.querySelector('.plot'), models.join(','), series, data);
    }
  }

  function renderThroughput(x) {
    const samples = state.samples;
    const rate = function (result) {
      return samples.map(function (s, i) {
        if (i === 0) return null;
        const dt = (s.t - samples[i - 1].t) / 1000;
        const delta = valueOr(s.records[result], 0) - valueOr(samples[i - 1].records[result], 0);
        return dt > 0 ? Math.max(0, delta / dt) : null;
      });
    };
    chart(
      'throughput',
      document.getElementById('throughput'),
      'v1',
      [line('learned/s', '#059669'), line('dead-lettered/s', '#d97706'), line('lag', '#7c3aed', 'lag')],
      [x, rate('learned'), rate('dead_lettered'), samples.map(function (s) { return s.lag; })],
      { axes: [{}, { size: 60, label: 'records/s' }, { side: 1, scale: 'lag', size: 60, label: 'lag', grid: { show: false } }] },
    );
  }

  function renderDeadLetters(x) {
    const samples = state.samples;
    const reasons = keysOf(samples.map(function (s) { return s.deadLetters; }));
    const el = document.getElementById('deadletters');
    if (reasons.length === 0) {
      el.innerHTML = '<div class="empty">no dead letters yet</div>';
      return;
    }
    chart(
      'deadletters',
      el,
      reasons.join(','),
      reasons.map(function (reason, i) { return line(reason, palette[i % palette.length]); }),
      [x].concat(reasons.map(function (reason) { return samples.map(function (s) { return valueOr(s.deadLetters[reason], 0); }); })),
    );
  }

  function renderStability(x) {
    const samples = state.samples;
    const marginTasks = keysOf(samples.map(function (s) { return s.margin; }));
    const rates = keysOf(samples.map(function (s) { return s.learningRate; }));
    const el = document.getElementById('stability');
    if (marginTasks.length === 0 && rates.length === 0) {
      el.innerHTML = '<div class="empty">no estimate yet (η and its margin appear after the first learning step)</div>';
      return;
    }
    const series = [];
    const data = [x];
    marginTasks.forEach(function (task, i) {
      series.push(line('margin ' + task, palette[i % palette.length]));
      data.push(samples.map(function (s) { return valueOr(s.margin[task], null); }));
    });
    series.push(Object.assign(line('stable below', '#9ca3af'), { dash: [6, 4] }));
    data.push(samples.map(function () { return 1; }));
    rates.forEach(function (key, i) {
      series.push(Object.assign(line('η' + (key ? ' ' + key : ''), palette[(i + 4) % palette.length], 'eta'), { dash: [2, 2] }));
      data.push(samples.map(function (s) { return valueOr(s.learningRate[key], null); }));
    });
    chart('stability', el, marginTasks.join(',') + '|' + rates.join(','), series, data, {
      axes: [{}, { size: 60, label: 'margin' }, { side: 1, scale: 'eta', size: 60, label: 'η', grid: { show: false } }],
    });
  }

  function renderHeader() {
    const last = state.samples[state.samples.length - 1];
    if (!last) return;
    const fmt = function (n) { return Math.round(n).toLocaleString('en-US'); };
    document.getElementById('learned').textContent = fmt(valueOr(last.records.learned, 0));
    document.getElementById('dead').textContent = fmt(valueOr(last.records.dead_lettered, 0));
    document.getElementById('lag').textContent = fmt(last.lag);
    const first = state.samples[Math.max(0, state.samples.length - 6)];
    const dt = (last.t - first.t) / 1000;
    const rate = dt > 0 ? (valueOr(last.records.learned, 0) - valueOr(first.records.learned, 0)) / dt : 0;
    document.getElementById('rate').textContent = fmt(rate);
    if (state.build) document.getElementById('build').textContent = 'v' + state.build.version + ' · backend ' + state.build.backend;
  }

  function render() {
    const x = state.samples.map(function (s) { return s.t / 1000; });
    renderHeader();
    renderTasks(x);
    renderThroughput(x);
    renderDeadLetters(x);
    renderStability(x);
  }

  async function poll() {
    try {
      const response = await fetch('/live/history.json?since=' + state.since, { cache: 'no-store' });
      const body = await response.json();
      state.build = body.build;
      if (body.samples.length > 0) {
        state.samples = state.samples.concat(body.samples).slice(-keep);
        state.since = state.samples[state.samples.length - 1].t;
        render();
      }
      state.polls += 1;
    } catch (error) {
      state.lastError = String(error);
    }
  }

  window.addEventListener('resize', function () {
    for (const id of Object.keys(state.charts)) {
      const c = state.charts[id];
      c.setSize({ width: widthOf(c.root.parentElement), height: 220 });
    }
  });
  poll();
  setInterval(poll, 1000);
})();
`;
