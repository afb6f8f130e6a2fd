// The agents-sdk inspector page: no framework, no network beyond the server it came from.
// The server sends a run as a list of entries (see src/inspector/run-view.ts); this page
// applies them in order to a model and draws it. The slider replays a prefix of the list.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

const page = {
  socket: null,
  runs: [],
  key: null,
  header: null,
  machines: {},
  entries: [],
  /** null: follow the end (live); else the number of entries applied. */
  cursor: null,
  model: null,
  selectedTask: null,
  selectedActor: null,
  /** The task whose json is unfolded in the details. */
  jsonOpen: null,
  drawQueued: false,
};

function emptyModel() {
  return { graph: null, tasks: new Map(), actors: new Map(), roots: [], log: [], transcripts: new Map(), totals: null, status: null, at: 0 };
}

function apply(model, e) {
  model.at = e.at;
  switch (e.k) {
    case 'graph':
      model.graph = e;
      for (const t of e.tasks) if (!model.tasks.has(t.id)) model.tasks.set(t.id, { id: t.id, status: 'pending', attempts: 0, tokens: 0, costUsd: 0, startedAt: null, endedAt: null, error: null });
      break;
    case 'task':
      model.tasks.set(e.task.id, e.task);
      break;
    case 'totals':
      model.totals = e;
      break;
    case 'actor': {
      const actor = { id: e.id, parent: e.parent, actorId: e.actorId, name: e.name, machine: e.machine, active: e.active, status: e.status, children: [] };
      model.actors.set(e.id, actor);
      const parent = e.parent && model.actors.get(e.parent);
      if (parent) parent.children.push(e.id);
      else model.roots.push(e.id);
      break;
    }
    case 'state': {
      const actor = model.actors.get(e.id);
      if (actor) {
        actor.active = e.active;
        actor.status = e.status;
      }
      break;
    }
    case 'progress': {
      let lines = model.transcripts.get(e.taskId);
      if (!lines) model.transcripts.set(e.taskId, (lines = []));
      lines.push(e);
      break;
    }
    case 'log':
      model.log.push(e);
      break;
    case 'end':
      model.status = e.status;
      break;
  }
}

function rebuild() {
  const model = emptyModel();
  const end = page.cursor === null ? page.entries.length : page.cursor;
  for (let i = 0; i < end; i++) apply(model, page.entries[i]);
  page.model = model;
  scheduleDraw();
}

function scheduleDraw() {
  if (page.drawQueued) return;
  page.drawQueued = true;
  requestAnimationFrame(() => {
    page.drawQueued = false;
    draw();
  });
}

// ---- connection ----

function connect() {
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/view`);
  page.socket = socket;
  socket.onopen = () => setConnection('open', 'connected');
  socket.onclose = () => {
    setConnection('closed', 'disconnected: retrying');
    setTimeout(connect, 2000);
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === 'runs') onRuns(data.runs);
    else if (data.type === 'run') onRun(data.run, data.entries);
    else if (data.type === 'entries' && data.key === page.key) onEntries(data.entries, data.machines);
  };
}

function setConnection(state, text) {
  const el = $('connection');
  el.dataset.state = state;
  el.textContent = text;
}

function send(value) {
  if (page.socket && page.socket.readyState === WebSocket.OPEN) page.socket.send(JSON.stringify(value));
}

function onRuns(runs) {
  page.runs = runs;
  drawRuns();
  if (page.key) {
    // a reconnection: open the same run again
    if (!page.header) open(page.key);
    return;
  }
  const wanted = new URLSearchParams(location.hash.slice(1)).get('run');
  const pick = runs.find((r) => r.key === wanted || r.runId === wanted) || (!wanted && runs[0]);
  if (pick) open(pick.key);
  // a stored run whose id a live run shadows in the list
  else if (wanted) open(wanted);
}

function open(key) {
  page.key = key;
  page.header = null;
  page.entries = [];
  page.cursor = null;
  page.selectedTask = null;
  page.selectedActor = null;
  history.replaceState(null, '', `#run=${encodeURIComponent(key)}`);
  send({ type: 'open', key });
  rebuild();
  drawRuns();
}

function onRun(header, entries) {
  page.header = header;
  page.machines = header.machines || {};
  page.entries = entries;
  page.cursor = null;
  rebuild();
}

function onEntries(entries, machines) {
  if (machines) page.machines = machines;
  const start = page.entries.length;
  page.entries.push(...entries);
  if (page.cursor === null) {
    for (let i = start; i < page.entries.length; i++) apply(page.model, page.entries[i]);
  }
  scheduleDraw();
}

// ---- drawing ----

function el(tag, attrs, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtTokens(n) {
  if (!n) return '0 tok';
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M tok` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k tok` : `${n} tok`;
}
function fmtCost(usd) {
  return `$${(usd || 0).toFixed(4)}`;
}
function fmtMs(ms) {
  if (ms === null || ms === undefined || ms < 0) return '';
  return ms >= 60000 ? `${Math.floor(ms / 60000)}m${Math.round((ms % 60000) / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}
function nowOf() {
  return page.cursor === null && page.model && !page.model.status ? Date.now() : page.model ? page.model.at : Date.now();
}

function draw() {
  drawTitle();
  drawSlider();
  drawGraph();
  drawActors();
  drawChart();
  drawTaskDetails();
  drawTranscript();
  drawLog();
}

function drawRuns() {
  const list = $('runs');
  list.replaceChildren();
  if (page.runs.length === 0) list.append(el('li', { class: 'empty' }, 'no runs yet: start one with --inspect'));
  for (const run of page.runs) {
    const item = el('li', { 'data-run': run.key, 'data-status': run.status, class: run.key === page.key ? 'selected' : '' });
    item.append(el('div', { class: 'run-id' }, run.runId));
    const meta = el('div', { class: 'run-meta' });
    meta.append(el('span', { class: 'badge', 'data-status': run.status }, run.status), ` ${run.workflowId || ''} · ${run.tasks} tasks · ${run.source}`);
    item.append(meta);
    item.onclick = () => open(run.key);
    list.append(item);
  }
}

function drawTitle() {
  const h = page.header;
  const m = page.model;
  $('run-title').textContent = h ? `${h.workflowId || 'run'} ${h.runId}${m && m.status ? ` · ${m.status}` : ' · running'}` : '';
  if (m && m.tasks.size > 0) {
    const counts = {};
    for (const t of m.tasks.values()) counts[t.status] = (counts[t.status] || 0) + 1;
    const parts = Object.entries(counts).map(([s, n]) => `${n} ${s}`);
    $('totals').textContent = `${parts.join(', ')}${m.totals ? ` · ${fmtTokens(m.totals.tokens)} · ${fmtCost(m.totals.costUsd)}` : ''}`;
  } else $('totals').textContent = '';
}

function drawSlider() {
  const slider = $('slider');
  slider.max = String(page.entries.length);
  slider.value = String(page.cursor === null ? page.entries.length : page.cursor);
  const at = page.model && page.model.at ? new Date(page.model.at).toLocaleTimeString() : '';
  $('slider-label').textContent = `${slider.value}/${page.entries.length} events ${at}`;
  $('live').classList.toggle('on', page.cursor === null);
}

function drawGraph() {
  const svg = $('graph');
  svg.replaceChildren();
  const m = page.model;
  if (!m || !m.graph) return;
  const { layout } = m.graph;
  svg.setAttribute('width', layout.width);
  svg.setAttribute('height', layout.height);
  svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
  svg.append(arrowMarker());
  // Instances and iterations by the fan-out or loop they belong to (impl[3] and impl[3].code to impl,
  // fix#2 to fix): one unit each (a group's instance or iteration holds its tasks' records), in order.
  const repeats = new Map();
  for (const t of m.tasks.values()) {
    const mark = /\[\d+\]|#\d+/.exec(t.id);
    if (!mark) continue;
    const owner = t.id.slice(0, mark.index);
    const unitId = t.id.slice(0, mark.index + mark[0].length);
    let units = repeats.get(owner);
    if (!units) repeats.set(owner, (units = new Map()));
    let unit = units.get(unitId);
    if (!unit) units.set(unitId, (unit = { id: unitId, records: [] }));
    unit.records.push(t);
  }
  for (const [owner, units] of repeats) {
    const list = [...units.values()].map((u) => {
      u.records.sort((a, b) => compareMarks(marksOf(a.id), marksOf(b.id)));
      const one = u.records.length === 1 && u.records[0].id === u.id;
      // A click shows the unit's task, or its running (else last) one.
      const shown = one ? u.records[0] : u.records.find((r) => r.status === 'running') || u.records[u.records.length - 1];
      return { id: u.id, select: shown.id, status: one ? shown.status : unitStatus(u.records.map((r) => r.status)), tokens: u.records.reduce((n, r) => n + r.tokens, 0), costUsd: u.records.reduce((n, r) => n + r.costUsd, 0), error: shown.error, reason: shown.reason };
    });
    list.sort((a, b) => compareMarks(marksOf(a.id), marksOf(b.id)));
    repeats.set(owner, list);
  }
  const spec = new Map(m.graph.tasks.map((t) => [t.id, t]));
  // Groups: a box around their tasks, coloured by what those tasks (and their instances) did.
  for (const c of m.graph.clusters || []) {
    const statuses = [];
    for (const id of c.tasks) {
      const list = repeats.get(id);
      if (list && list.length > 0) for (const r of list) statuses.push(r.status);
      else statuses.push((m.tasks.get(id) || { status: 'pending' }).status);
    }
    const status = unitStatus(statuses);
    const g = el('svg:g', { class: 'cluster', 'data-group': c.id, 'data-status': status });
    g.append(el('svg:rect', { x: c.x, y: c.y, width: c.width, height: c.height, rx: 10 }));
    g.append(el('svg:text', { class: 'cluster-label', x: c.x + 8, y: c.y + 13 }, `${c.id} · ${doneText(statuses)}`));
    svg.append(g);
  }
  for (const edge of layout.edges) {
    svg.append(el('svg:polyline', { class: 'edge', points: edge.points.map((p) => `${p.x},${p.y}`).join(' ') }));
  }
  const now = nowOf();
  for (const node of layout.nodes) {
    const own = m.tasks.get(node.id) || { status: 'pending', attempts: 0, tokens: 0, costUsd: 0 };
    const list = repeats.get(node.id) || [];
    // A fan-out or loop whose own record waits for its instances or iterations runs once one has started.
    const t = list.length > 0 && own.status === 'pending' ? { ...own, status: 'running' } : own;
    const g = el('svg:g', { class: `task${page.selectedTask === node.id ? ' selected' : ''}`, 'data-task': node.id, 'data-status': t.status, 'data-commit': t.commit || '', transform: `translate(${node.x - node.width / 2},${node.y - node.height / 2})` });
    g.append(el('svg:rect', { width: node.width, height: node.height, rx: 8 }));
    g.append(el('svg:text', { class: 'tid', x: 8, y: 16 }, node.id.length > 24 ? `${node.id.slice(0, 23)}…` : node.id));
    const elapsed = t.startedAt ? fmtMs((t.endedAt || now) - t.startedAt) : '';
    g.append(el('svg:text', { class: 'tmeta tstatus', x: 8, y: 32 }, `${statusLabel(t)}${t.attempts ? ` · attempt ${t.attempts}` : ''}${elapsed ? ` · ${elapsed}` : ''}`));
    if (list.length === 0) g.append(el('svg:text', { class: 'tmeta', x: 8, y: 48 }, `${fmtTokens(t.tokens)} · ${fmtCost(t.costUsd)}${t.commit ? ` · ${t.commit.slice(0, 7)}` : ''}`));
    else {
      // Its instances or iterations, as they start: a chip each, or a bar by status when there are many.
      const word = list[0].id.endsWith(']') ? 'instances' : 'iterations';
      const spent = list.reduce((sum, r) => ({ tokens: sum.tokens + r.tokens, cost: sum.cost + r.costUsd }), { tokens: 0, cost: 0 });
      const repeated = spec.get(node.id) && spec.get(node.id).repeats;
      g.append(el('svg:text', { class: 'tmeta repeat-count', x: 8, y: 48 }, repeated ? doneText(list.map((r) => r.status)) : `${fmtTokens(spent.tokens)} · ${fmtCost(spent.cost)}`));
      g.append(repeatChips(list, repeated ? 54 : 51, node.width, repeated ? node.height - 56 : node.height - 52, word));
    }
    const title = el('svg:title', {}, t.error ? `${node.id}: ${t.error.code}: ${t.error.message}` : t.reason ? `${node.id}: ${t.status}: ${t.reason}` : node.id);
    g.append(title);
    g.onclick = () => selectTask(node.id);
    svg.append(g);
  }
}

/** The numbers of a record id's marks (`fix_tests#2.test` → [2], `impl[3]` → [3]), to order them. */
function marksOf(id) {
  return (id.match(/\[\d+\]|#\d+/g) || []).map((m) => Number(m.replace(/\D/g, '')));
}

function compareMarks(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const ENDED = ['completed', 'failed', 'skipped', 'cancelled'];

/** What a group or fan-out is, from its tasks' statuses: running while one runs, pending before any started. */
function unitStatus(statuses) {
  if (statuses.some((s) => s === 'running' || s === 'retrying' || s === 'waiting')) return 'running';
  if (statuses.every((s) => s === 'pending')) return 'pending';
  if (!statuses.every((s) => ENDED.includes(s))) return 'running';
  if (statuses.includes('failed')) return 'failed';
  if (statuses.includes('cancelled')) return 'cancelled';
  return statuses.every((s) => s === 'skipped') ? 'skipped' : 'completed';
}

/** `7/12 done, 2 running, 1 failed`. */
function doneText(statuses) {
  const done = statuses.filter((s) => ENDED.includes(s)).length;
  const parts = [`${done}/${statuses.length} done`];
  for (const s of ['running', 'retrying', 'failed', 'skipped']) {
    const n = statuses.filter((x) => x === s).length;
    if (n > 0) parts.push(`${n} ${s}`);
  }
  return parts.join(', ');
}

const CHIP = 8;
const CHIP_GAP = 2;

/** A fan-out's instances or a loop's iterations inside its node: a chip each (click: its details), or, past what fits, a bar by status. */
function repeatChips(list, top, width, height, word) {
  const g = el('svg:g', { class: 'repeats', 'data-count': list.length, 'data-word': word });
  const perRow = Math.floor((width - 16 + CHIP_GAP) / (CHIP + CHIP_GAP));
  const rows = Math.max(1, Math.floor((height + CHIP_GAP) / (CHIP + CHIP_GAP)));
  if (list.length <= perRow * rows) {
    list.forEach((r, i) => {
      const chip = el('svg:rect', { class: `chip${page.selectedTask === r.select ? ' selected' : ''}`, 'data-task': r.id, 'data-select': r.select, 'data-status': r.status, x: 8 + (i % perRow) * (CHIP + CHIP_GAP), y: top + Math.floor(i / perRow) * (CHIP + CHIP_GAP), width: CHIP, height: CHIP, rx: 2 });
      chip.append(el('svg:title', {}, `${r.id}: ${r.status}${r.error ? ` (${r.error.code}: ${r.error.message})` : r.reason ? ` (${r.reason})` : ''}`));
      chip.onclick = (event) => {
        event.stopPropagation();
        selectTask(r.select);
      };
      g.append(chip);
    });
    return g;
  }
  let x = 8;
  const total = width - 16;
  for (const s of ['completed', 'running', 'retrying', 'waiting', 'failed', 'skipped', 'cancelled', 'pending']) {
    const n = list.filter((r) => r.status === s).length;
    if (n === 0) continue;
    const w = (n / list.length) * total;
    const bar = el('svg:rect', { class: 'chip-bar', 'data-status': s, x, y: top, width: w, height: CHIP });
    bar.append(el('svg:title', {}, `${n} ${word} ${s}`));
    g.append(bar);
    x += w;
  }
  return g;
}

function arrowMarker() {
  const defs = el('svg:defs');
  const marker = el('svg:marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('svg:path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7b8190' }));
  defs.append(marker);
  return defs;
}

function selectTask(taskId) {
  page.selectedTask = taskId;
  // the task's session, when the actor tree has it
  const m = page.model;
  if (m) {
    for (const actor of m.actors.values()) {
      const parent = actor.parent && m.actors.get(actor.parent);
      if (actor.actorId === taskId && parent && !parent.parent) page.selectedActor = actor.id;
    }
  }
  scheduleDraw();
}

function drawActors() {
  const list = $('actors');
  list.replaceChildren();
  const m = page.model;
  if (!m) return;
  const item = (id) => {
    const actor = m.actors.get(id);
    const li = el('li', { 'data-actor': actor.actorId, 'data-status': actor.status });
    const label = el('span', { class: page.selectedActor === id ? 'selected' : '' });
    label.append(`${actor.name}${actor.actorId !== actor.name ? ` ${actor.actorId}` : ''} `, el('span', { class: 'state' }, actor.active.length ? actor.active[actor.active.length - 1] : actor.status));
    label.onclick = () => {
      page.selectedActor = id;
      scheduleDraw();
    };
    li.append(label);
    if (actor.children.length) {
      const ul = el('ul');
      // the latest children first matter most in a big run: show the last 200
      for (const child of actor.children.slice(-200)) ul.append(item(child));
      li.append(ul);
    }
    return li;
  };
  for (const root of m.roots) list.append(item(root));
}

function drawChart() {
  const svg = $('chart');
  svg.replaceChildren();
  $('chart-any').textContent = '';
  const m = page.model;
  if (!m) return;
  const id = page.selectedActor && m.actors.has(page.selectedActor) ? page.selectedActor : m.roots.find((r) => m.actors.get(r).machine);
  const actor = id && m.actors.get(id);
  const view = actor && actor.machine && page.machines[actor.machine];
  $('chart-title').textContent = actor ? `Statechart: ${actor.name}${actor.actorId !== actor.name ? ` ${actor.actorId}` : ''}` : 'Statechart';
  if (!view) return;
  svg.setAttribute('width', view.width);
  svg.setAttribute('height', view.height);
  svg.setAttribute('viewBox', `0 0 ${view.width} ${view.height}`);
  svg.dataset.actor = actor.actorId;
  svg.append(arrowMarker());
  for (const arrow of view.arrows) {
    svg.append(el('svg:polyline', { class: 'transition', points: arrow.points.map((p) => `${p.x},${p.y}`).join(' ') }));
    const mid = arrow.points[Math.floor(arrow.points.length / 2)];
    if (mid && arrow.label) svg.append(el('svg:text', { class: 'tlabel', x: mid.x + 3, y: mid.y - 3 }, arrow.label.length > 40 ? `${arrow.label.slice(0, 39)}…` : arrow.label));
  }
  const active = new Set(actor.active);
  for (const s of view.states) {
    const on = active.has(s.key);
    const g = el('svg:g', { class: `state-box${on ? ' active' : ''}${s.type === 'final' ? ' final' : ''}`, 'data-state': s.key, transform: `translate(${s.x - s.width / 2},${s.y - s.height / 2})` });
    g.append(el('svg:rect', { width: s.width, height: s.height, rx: 10 }));
    g.append(el('svg:text', { class: 'skey', x: 10, y: 20 }, `${s.initial ? '▸ ' : ''}${s.key}`));
    s.children.forEach((path, i) => {
      const depth = path.split('.').length - 1;
      g.append(el('svg:text', { class: `schild${active.has(path) ? ' active' : ''}`, x: 10 + depth * 8, y: 20 + (i + 1) * 16 }, path.split('.').pop()));
    });
    if (s.selfEvents.length) g.append(el('svg:title', {}, `↻ ${s.selfEvents.join(', ')}`));
    svg.append(g);
  }
  if (view.anyState.length) $('chart-any').textContent = `from any state: ${view.anyState.join(' · ')}`;
}

/** A task's status as shown: `failed (allowed)` for a failure `allow_failure` let pass. */
function statusLabel(t) {
  return t.allowedFailure && t.status === 'failed' ? 'failed (allowed)' : t.status;
}

/** The selected task's status, skip reason, error and structured output (folded). */
function drawTaskDetails() {
  const box = $('task-details');
  const taskId = page.selectedTask;
  const t = taskId && page.model && page.model.tasks.get(taskId);
  box.replaceChildren();
  box.dataset.task = taskId || '';
  if (!t) return;
  const row = (name, value, attrs = {}) => {
    const p = el('p', attrs);
    p.append(el('span', { class: 'label' }, name), value);
    box.append(p);
  };
  row('status', statusLabel(t), { class: 'status', 'data-status': t.status, 'data-allowed-failure': t.allowedFailure ? 'true' : 'false' });
  if (t.reason) row(t.skippedBy === 'when' ? 'skipped by when' : 'reason', t.reason, { class: 'reason', 'data-skipped-by': t.skippedBy || '' });
  if (t.error) row(t.allowedFailure ? 'error (allowed)' : 'error', `${t.error.code}: ${t.error.message}`, { class: 'error' });
  if (t.commit) row('commit', `${t.commit} on ${t.branch}`, { class: 'commit' });
  if (t.worktree) row('worktree kept', t.worktree, { class: 'worktree' });
  if (t.json !== undefined) {
    // Folded, and kept folded or open as the reader left it across redraws.
    const details = el('details', { class: 'json' });
    details.open = page.jsonOpen === taskId;
    details.ontoggle = () => {
      page.jsonOpen = details.open ? taskId : null;
    };
    details.append(el('summary', {}, 'json'), el('pre', {}, t.json));
    box.append(details);
  }
}

function drawTranscript() {
  const list = $('transcript');
  const taskId = page.selectedTask;
  $('transcript-title').textContent = taskId ? `Transcript: ${taskId}` : 'Transcript (click a task)';
  list.dataset.task = taskId || '';
  const lines = (taskId && page.model && page.model.transcripts.get(taskId)) || [];
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren();
  for (const line of lines.slice(-500)) {
    const li = el('li', { class: 'line', 'data-kind': line.kind });
    li.append(el('span', { class: 'kind' }, line.kind), line.text);
    list.append(li);
  }
  if (taskId && lines.length === 0) list.append(el('li', { class: 'empty' }, 'nothing yet'));
  if (stick) list.scrollTop = list.scrollHeight;
}

function drawLog() {
  const list = $('log');
  const m = page.model;
  list.replaceChildren();
  if (!m) return;
  const cats = new Set([...document.querySelectorAll('#log-filters input[type=checkbox]')].filter((c) => c.checked).map((c) => c.dataset.cat));
  const needle = $('log-search').value.trim().toLowerCase();
  const shown = [];
  for (let i = m.log.length - 1; i >= 0 && shown.length < 400; i--) {
    const e = m.log[i];
    if (!cats.has(e.cat)) continue;
    if (needle && !`${e.type} ${e.taskId || ''} ${e.text}`.toLowerCase().includes(needle)) continue;
    shown.push(e);
  }
  shown.reverse();
  for (const e of shown) {
    const li = el('li', { 'data-cat': e.cat, 'data-type': e.type });
    li.append(el('span', { class: 'type' }, e.type));
    if (e.taskId) li.append(el('span', { class: 'task-ref' }, e.taskId));
    li.append(e.text);
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
}

// ---- controls ----

$('slider').addEventListener('input', (event) => {
  const value = Number(event.target.value);
  page.cursor = value >= page.entries.length ? null : value;
  rebuild();
});
$('live').addEventListener('click', () => {
  page.cursor = null;
  rebuild();
});
for (const box of document.querySelectorAll('#log-filters input')) box.addEventListener('input', scheduleDraw);
// elapsed times of running tasks move on
setInterval(() => {
  if (page.model && page.cursor === null && !page.model.status) scheduleDraw();
}, 1000);
setInterval(() => send({ type: 'list' }), 5000);

connect();
