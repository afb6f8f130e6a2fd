// The agents-sdk inspector page: no framework, no network beyond the server it came from.
// The server sends a run as a list of entries (see src/inspector/run-view.ts); this page
// applies them in order to a model and draws what changed: a graph node, an actor row, a log
// line stays the same element from frame to frame. The timeline replays a prefix of the list
// (slider, ◀ ▶ buttons, ← → keys); the task panel asks the server's HTTP API for the rest.
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
  /** The graph entry the graph's elements were made for, and those elements by task id. */
  drawnGraph: null,
  nodes: new Map(),
  clusters: new Map(),
  edges: [],
  /** The graph's pan and zoom: screen = layout × k + (x, y). */
  view: { x: 0, y: 0, k: 1 },
  /** Groups drawn folded into one box (a click unfolds them). */
  collapsed: new Set(),
  tab: 'chart',
  /** What the task panel fetched: `${key} ${taskId}` → details (or an error). */
  debug: { key: null, data: null, status: null },
};

function emptyModel() {
  return { graph: null, tasks: new Map(), actors: new Map(), roots: [], log: [], transcripts: new Map(), totals: null, status: null, at: 0, version: 0, actorsVersion: 0, lastState: new Map() };
}

function apply(model, e) {
  model.at = e.at;
  model.version++;
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
      const actor = { id: e.id, parent: e.parent, actorId: e.actorId, name: e.name, machine: e.machine, active: e.active, status: e.status, children: [], previous: null };
      model.actors.set(e.id, actor);
      const parent = e.parent && model.actors.get(e.parent);
      if (parent) parent.children.push(e.id);
      else model.roots.push(e.id);
      model.actorsVersion++;
      break;
    }
    case 'state': {
      const actor = model.actors.get(e.id);
      if (actor) {
        // the transition just taken: from the last active state to this one
        actor.previous = actor.active;
        actor.active = e.active;
        actor.status = e.status;
        model.actorsVersion++;
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
  logView.reset();
  seqView.reset();
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
    else if (data.type === 'entries' && data.key === page.key) onEntries(data.entries);
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
  // The machines' definitions come once, with the run (entries frames do not repeat them).
  page.machines = header.machines || {};
  page.entries = entries;
  page.cursor = null;
  rebuild();
}

function onEntries(entries) {
  const start = page.entries.length;
  for (const e of entries) page.entries.push(e);
  if (page.cursor === null) {
    for (let i = start; i < page.entries.length; i++) apply(page.model, page.entries[i]);
  }
  scheduleDraw();
}

// ---- drawing helpers ----

function el(tag, attrs, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets an attribute only when it changes (a write the browser would otherwise re-style). */
function setAttr(node, name, value) {
  const v = String(value);
  if (node.getAttribute(name) !== v) node.setAttribute(name, v);
}
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
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

/**
 * A list that makes elements only for the rows in view (rows of a fixed height), keeps each
 * row's element while it stays in view, and keeps the reader's place: it follows new rows only
 * while scrolled to the bottom.
 */
function virtualList(container, rowHeight, render) {
  const v = {
    items: [],
    cache: new Map(),
    range: '',
    top: el('div', { class: 'spacer' }),
    bottom: el('div', { class: 'spacer' }),
    set(items, keyOf) {
      const atBottom = container.scrollTop + container.clientHeight >= container.scrollHeight - rowHeight;
      v.items = items;
      v.keyOf = keyOf;
      v.paint(true);
      if (atBottom && v.follow) container.scrollTop = container.scrollHeight;
    },
    follow: true,
    paint(force) {
      const h = Math.min(container.clientHeight || 400, window.innerHeight);
      const first = Math.max(0, Math.floor(container.scrollTop / rowHeight) - 10);
      const last = Math.min(v.items.length, Math.ceil((container.scrollTop + h) / rowHeight) + 10);
      const range = `${first}:${last}:${v.items.length}`;
      if (!force && range === v.range) return;
      v.range = range;
      // Spacers stand for the rows not made (padding would not do: a flex item grows to hold it).
      v.top.style.height = `${first * rowHeight}px`;
      v.bottom.style.height = `${(v.items.length - last) * rowHeight}px`;
      container.dataset.rows = String(v.items.length);
      const keep = new Map();
      const rows = [];
      for (let i = first; i < last; i++) {
        const item = v.items[i];
        const key = v.keyOf(item, i);
        let row = v.cache.get(key);
        row = render(item, row);
        keep.set(key, row);
        rows.push(row);
      }
      v.cache = keep;
      // Only when the rows in view differ: the same elements stay put otherwise.
      const now = container.children;
      let same = now.length === rows.length + 2;
      for (let i = 0; same && i < rows.length; i++) same = now[i + 1] === rows[i];
      if (!same) container.replaceChildren(v.top, ...rows, v.bottom);
    },
  };
  container.addEventListener('scroll', () => v.paint(false));
  return v;
}

/** How far behind the run each live frame drew (ms from an entry's time to its drawing), for the bench. */
const frameLags = [];
window.inspectorFrameLags = frameLags;

function draw() {
  const m = page.model;
  if (m && page.cursor === null && m.version !== page.drawnVersion && m.at && frameLags.length < 100000) frameLags.push(Date.now() - m.at);
  if (m) page.drawnVersion = m.version;
  document.body.dataset.at = String(page.model ? page.model.at : 0);
  document.body.dataset.entries = String(page.cursor === null ? page.entries.length : page.cursor);
  drawTitle();
  drawSlider();
  drawGraph();
  drawActors();
  if (page.tab === 'chart') drawChart();
  else if (page.tab === 'sequence') drawSequence();
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

/** How the run ended and why: its status, and the halt reason when it stopped early. */
function drawTitle() {
  const h = page.header;
  const m = page.model;
  setText($('run-title'), h ? `${h.workflowId || 'run'} ${h.runId}${m && m.status ? ` · ${m.status}` : ' · running'}` : '');
  const halt = m && m.totals && m.totals.halt;
  const failed = m ? [...m.tasks.values()].filter((t) => t.status === 'failed' && !t.allowedFailure) : [];
  let why = '';
  if (halt) why = `halted: ${halt}`;
  else if (m && m.status && m.status !== 'completed' && failed.length) why = `${failed.length} failed: ${failed.slice(0, 3).map((t) => t.id).join(', ')}${failed.length > 3 ? '…' : ''}`;
  const haltEl = $('halt');
  setText(haltEl, why);
  haltEl.dataset.halt = halt || '';
  haltEl.onclick = failed.length ? () => focusTask(failed[0].id) : null;
  if (m && m.tasks.size > 0) {
    const counts = {};
    for (const t of m.tasks.values()) counts[t.status] = (counts[t.status] || 0) + 1;
    const parts = Object.entries(counts).map(([s, n]) => `${n} ${s}`);
    setText($('totals'), `${parts.join(', ')}${m.totals ? ` · ${fmtTokens(m.totals.tokens)} · ${fmtCost(m.totals.costUsd)}` : ''}`);
  } else setText($('totals'), '');
}

function drawSlider() {
  const slider = $('slider');
  slider.max = String(page.entries.length);
  slider.value = String(page.cursor === null ? page.entries.length : page.cursor);
  const at = page.model && page.model.at ? new Date(page.model.at).toLocaleTimeString() : '';
  setText($('slider-label'), `${slider.value}/${page.entries.length} events ${at}`);
  $('live').classList.toggle('on', page.cursor === null);
}

// ---- the graph: made once per graph entry, updated node by node ----

const FAR = 0.45;

function drawGraph() {
  const m = page.model;
  const svg = $('graph');
  if (!m || !m.graph) {
    if (page.drawnGraph) {
      svg.replaceChildren();
      page.drawnGraph = null;
      page.nodes = new Map();
      page.clusters = new Map();
    }
    return;
  }
  if (page.drawnGraph !== m.graph) buildGraph(m.graph);
  updateGraph(m);
}

function buildGraph(graph) {
  const svg = $('graph');
  const same = page.drawnGraph && page.drawnGraph.tasks.length === graph.tasks.length && page.drawnGraph.layout.width === graph.layout.width && page.drawnGraph.layout.height === graph.layout.height;
  page.drawnGraph = graph;
  svg.replaceChildren(arrowMarker());
  const viewport = el('svg:g', { id: 'viewport' });
  const clusters = el('svg:g', { class: 'clusters' });
  const edges = el('svg:g', { class: 'edges' });
  const nodes = el('svg:g', { class: 'nodes' });
  // Group boxes: their fill under the nodes, their outline and name above them (a click there folds the group).
  const groupTops = el('svg:g', { class: 'cluster-tops' });
  viewport.append(clusters, edges, nodes, groupTops);
  svg.append(viewport);
  page.nodes = new Map();
  page.clusters = new Map();
  page.edges = [];
  const memberOf = new Map();
  for (const c of graph.clusters || []) {
    const g = el('svg:g', { class: 'cluster', 'data-group': c.id });
    const bg = el('svg:rect', { class: 'cluster-bg', x: c.x, y: c.y, width: c.width, height: c.height, rx: 10 });
    const rect = el('svg:rect', { x: c.x, y: c.y, width: c.width, height: c.height, rx: 10 });
    const label = el('svg:text', { class: 'cluster-label', x: c.x + 8, y: c.y + 13 });
    g.append(rect, label);
    clusters.append(bg);
    groupTops.append(g);
    page.clusters.set(c.id, { c, g, bg, label, sig: '' });
    for (const t of c.tasks) if (!memberOf.has(t)) memberOf.set(t, []);
    for (const t of c.tasks) memberOf.get(t).push(c.id);
  }
  page.memberOf = memberOf;
  for (const edge of graph.layout.edges) {
    const line = el('svg:polyline', { class: 'edge', points: edge.points.map((p) => `${p.x},${p.y}`).join(' ') });
    edges.append(line);
    page.edges.push({ edge, line });
  }
  for (const node of graph.layout.nodes) {
    const g = el('svg:g', { class: 'task', 'data-task': node.id, transform: `translate(${node.x - node.width / 2},${node.y - node.height / 2})` });
    const rect = el('svg:rect', { width: node.width, height: node.height, rx: 8 });
    const tid = el('svg:text', { class: 'tid', x: 8, y: 16 }, node.id.length > 24 ? `${node.id.slice(0, 23)}…` : node.id);
    const status = el('svg:text', { class: 'tmeta tstatus', x: 8, y: 32 });
    const title = el('svg:title');
    g.append(rect, tid, status, title);
    nodes.append(g);
    page.nodes.set(node.id, { node, g, status, title, meta: null, repeats: null, sig: '' });
  }
  const ids = $('task-ids');
  ids.replaceChildren(...graph.layout.nodes.slice(0, 5000).map((n) => el('option', { value: n.id })));
  // Big graphs start with their groups folded.
  if (!same) {
    page.collapsed = new Set(graph.layout.nodes.length > 150 ? (graph.clusters || []).map((c) => c.id) : []);
    requestAnimationFrame(fitView);
  }
}

/** A fan-out's instances and a loop's iterations, by the task they belong to (see marksOf). */
function repeatsOf(m) {
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
  return repeats;
}

function updateGraph(m) {
  const repeats = repeatsOf(m);
  const spec = page.specById && page.specGraph === m.graph ? page.specById : new Map(m.graph.tasks.map((t) => [t.id, t]));
  page.specById = spec;
  page.specGraph = m.graph;
  const hidden = new Set();
  for (const [id, entry] of page.clusters) {
    const { c, g, label } = entry;
    const statuses = [];
    for (const tid of c.tasks) {
      const list = repeats.get(tid);
      if (list && list.length > 0) for (const r of list) statuses.push(r.status);
      else statuses.push((m.tasks.get(tid) || { status: 'pending' }).status);
    }
    const status = unitStatus(statuses);
    const folded = page.collapsed.has(id) && !c.tasks.some((t) => hiddenBy(t, id));
    if (page.collapsed.has(id)) for (const t of c.tasks) hidden.add(t);
    const sig = `${status}|${doneText(statuses)}|${folded}|${page.collapsed.has(id)}`;
    if (sig === entry.sig) continue;
    entry.sig = sig;
    setAttr(g, 'data-status', status);
    setAttr(entry.bg, 'data-status', status);
    g.classList.toggle('collapsed', page.collapsed.has(id));
    g.style.display = page.collapsed.has(id) && !folded ? 'none' : '';
    entry.bg.style.display = g.style.display;
    setText(label, `${page.collapsed.has(id) ? '▸ ' : ''}${id} · ${doneText(statuses)}`);
  }
  const now = nowOf();
  for (const [id, entry] of page.nodes) {
    const { node, g } = entry;
    const own = m.tasks.get(id) || { status: 'pending', attempts: 0, tokens: 0, costUsd: 0 };
    const list = repeats.get(id) || [];
    // A fan-out or loop whose own record waits for its instances or iterations runs once one has started.
    const t = list.length > 0 && own.status === 'pending' ? { ...own, status: 'running' } : own;
    const elapsed = t.startedAt ? fmtMs((t.endedAt || now) - t.startedAt) : '';
    const statusText = `${statusLabel(t)}${t.attempts ? ` · attempt ${t.attempts}` : ''}${elapsed ? ` · ${elapsed}` : ''}`;
    const sel = page.selectedTask === id || list.some((r) => r.select === page.selectedTask);
    const listSig = list.length ? list.map((r) => r.status[0] + (r.select === page.selectedTask ? '*' : '')).join('') + list.length : '';
    const sig = `${t.status}|${statusText}|${t.tokens}|${t.costUsd}|${sel}|${listSig}|${hidden.has(id)}|${t.error ? t.error.code : ''}|${t.reason || ''}|${t.commit || ''}`;
    if (sig === entry.sig) continue;
    entry.sig = sig;
    g.style.display = hidden.has(id) ? 'none' : '';
    setAttr(g, 'data-status', t.status);
    setAttr(g, 'data-commit', t.commit || '');
    g.classList.toggle('selected', page.selectedTask === id);
    setText(entry.status, statusText);
    setText(entry.title, t.error ? `${id}: ${t.error.code}: ${t.error.message}` : t.reason ? `${id}: ${t.status}: ${t.reason}` : id);
    if (list.length === 0) {
      if (!entry.meta) {
        entry.meta = el('svg:text', { class: 'tmeta', x: 8, y: 48 });
        g.insertBefore(entry.meta, entry.title);
      }
      setText(entry.meta, `${fmtTokens(t.tokens)} · ${fmtCost(t.costUsd)}${t.commit ? ` · ${t.commit.slice(0, 7)}` : ''}`);
    } else {
      // Its instances or iterations, as they start: a chip each, or a bar by status when there are many.
      const word = list[0].id.endsWith(']') ? 'instances' : 'iterations';
      const spent = list.reduce((sum, r) => ({ tokens: sum.tokens + r.tokens, cost: sum.cost + r.costUsd }), { tokens: 0, cost: 0 });
      const repeated = spec.get(id) && spec.get(id).repeats;
      if (!entry.meta) {
        entry.meta = el('svg:text', { class: 'tmeta repeat-count', x: 8, y: 48 });
        g.insertBefore(entry.meta, entry.title);
      }
      entry.meta.setAttribute('class', 'tmeta repeat-count');
      setText(entry.meta, repeated ? doneText(list.map((r) => r.status)) : `${fmtTokens(spent.tokens)} · ${fmtCost(spent.cost)}`);
      const chips = repeatChips(list, repeated ? 54 : 51, node.width, repeated ? node.height - 56 : node.height - 52, word);
      if (entry.repeats) entry.repeats.replaceWith(chips);
      else g.insertBefore(chips, entry.title);
      entry.repeats = chips;
    }
  }
  for (const { edge, line } of page.edges) {
    const off = hidden.has(edge.from) || hidden.has(edge.to);
    if (line.style.display !== (off ? 'none' : '')) line.style.display = off ? 'none' : '';
  }
  drawMinimap();
}

/** Whether task `t` is inside a folded group that holds group `id` (the outer fold draws). */
function hiddenBy(t, id) {
  const groups = page.memberOf.get(t) || [];
  return groups.some((g) => g !== id && page.collapsed.has(g) && page.clusters.get(g).c.tasks.length > page.clusters.get(id).c.tasks.length);
}

/** A click on the graph: a chip shows its instance, a node its task, a folded group unfolds. */
$('graph').addEventListener('click', (event) => {
  if (page.dragged) return;
  const target = event.target;
  const chip = target.closest && target.closest('[data-select]');
  if (chip) return selectTask(chip.getAttribute('data-select'));
  const node = target.closest && target.closest('.task');
  if (node) return selectTask(node.getAttribute('data-task'));
  const cluster = target.closest && target.closest('.cluster');
  if (cluster) {
    const id = cluster.getAttribute('data-group');
    if (page.collapsed.has(id)) page.collapsed.delete(id);
    else page.collapsed.add(id);
    for (const entry of page.clusters.values()) entry.sig = '';
    for (const entry of page.nodes.values()) entry.sig = '';
    scheduleDraw();
  }
});

// ---- pan, zoom, fit, minimap ----

function applyView() {
  const { x, y, k } = page.view;
  const viewport = $('viewport');
  if (viewport) viewport.setAttribute('transform', `translate(${x},${y}) scale(${k})`);
  $('graph').classList.toggle('far', k < FAR);
  drawMinimapView();
}

function fitView() {
  const g = page.drawnGraph;
  if (!g) return;
  const box = $('graph-panel').getBoundingClientRect();
  const w = Math.max(100, box.width);
  const h = Math.max(100, box.height);
  const k = Math.min(1.5, (w - 16) / g.layout.width, (h - 16) / g.layout.height);
  page.view = { k, x: (w - g.layout.width * k) / 2, y: (h - g.layout.height * k) / 2 };
  applyView();
  drawMinimap();
}

function zoomAt(factor, cx, cy) {
  const v = page.view;
  const k = Math.min(4, Math.max(0.02, v.k * factor));
  page.view = { k, x: cx - ((cx - v.x) * k) / v.k, y: cy - ((cy - v.y) * k) / v.k };
  applyView();
}

/** Moves the view so that layout point (lx, ly) is in the middle, at zoom k. */
function centerOn(lx, ly, k = page.view.k) {
  const box = $('graph-panel').getBoundingClientRect();
  page.view = { k, x: box.width / 2 - lx * k, y: box.height / 2 - ly * k };
  applyView();
}

const graphSvg = $('graph');
graphSvg.addEventListener('wheel', (event) => {
  event.preventDefault();
  const box = graphSvg.getBoundingClientRect();
  zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
}, { passive: false });
graphSvg.addEventListener('pointerdown', (event) => {
  const start = { x: event.clientX, y: event.clientY, vx: page.view.x, vy: page.view.y };
  page.dragged = false;
  const move = (e) => {
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    if (!page.dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    page.dragged = true;
    page.view = { ...page.view, x: start.vx + dx, y: start.vy + dy };
    applyView();
  };
  const up = () => {
    window.removeEventListener('pointermove', move);
    window.removeEventListener('pointerup', up);
    // the click that ends a drag is not a selection
    setTimeout(() => (page.dragged = false), 0);
  };
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
});
$('zoom-in').onclick = () => zoomAt(1.4, graphSvg.clientWidth / 2, graphSvg.clientHeight / 2);
$('zoom-out').onclick = () => zoomAt(1 / 1.4, graphSvg.clientWidth / 2, graphSvg.clientHeight / 2);
$('fit').onclick = fitView;

const STATUS_COLOURS = { pending: '#c9ccd3', waiting: '#b39ddb', running: '#3b82f6', retrying: '#f59e0b', completed: '#22a35a', failed: '#dc2626', skipped: '#e5e7eb', cancelled: '#6b7280' };

function minimapScale() {
  const g = page.drawnGraph;
  const canvas = $('minimap');
  return g ? Math.min(canvas.width / g.layout.width, canvas.height / g.layout.height) : 1;
}

/** The whole graph, small, a dot per node by status; the part in view framed. */
function drawMinimap() {
  const g = page.drawnGraph;
  const canvas = $('minimap');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!g) return;
  const s = minimapScale();
  for (const [, entry] of page.nodes) {
    const n = entry.node;
    ctx.fillStyle = STATUS_COLOURS[entry.g.getAttribute('data-status')] || '#999';
    ctx.fillRect((n.x - n.width / 2) * s, (n.y - n.height / 2) * s, Math.max(1, n.width * s), Math.max(1, n.height * s));
  }
  page.minimapImage = ctx.getImageData(0, 0, canvas.width, canvas.height);
  drawMinimapView();
}

function drawMinimapView() {
  const canvas = $('minimap');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx || !page.drawnGraph) return;
  if (page.minimapImage) ctx.putImageData(page.minimapImage, 0, 0);
  const s = minimapScale();
  const { x, y, k } = page.view;
  const svg = $('graph');
  // Only when part of the graph is out of view (and never over a graph that fits).
  const g = page.drawnGraph.layout;
  const fits = x >= -1 && y >= -1 && x + g.width * k <= svg.clientWidth + 1 && y + g.height * k <= svg.clientHeight + 1;
  canvas.classList.toggle('off', fits);
  ctx.strokeStyle = '#111';
  ctx.lineWidth = 1;
  ctx.strokeRect((-x / k) * s, (-y / k) * s, (svg.clientWidth / k) * s, (svg.clientHeight / k) * s);
}

function minimapMove(event) {
  const box = $('minimap').getBoundingClientRect();
  const s = minimapScale();
  centerOn((event.clientX - box.left) / s, (event.clientY - box.top) / s);
}
$('minimap').addEventListener('pointerdown', (event) => {
  event.stopPropagation();
  minimapMove(event);
  const move = (e) => minimapMove(e);
  const up = () => {
    window.removeEventListener('pointermove', move);
    window.removeEventListener('pointerup', up);
  };
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
});
window.addEventListener('resize', () => applyView());

/** Search by task id: `impl[3]` finds its fan-out's node; a folded group unfolds to show it. */
function focusTask(query) {
  const m = page.model;
  const q = query.trim();
  if (!m || !m.graph || !q) return false;
  let id = page.nodes.has(q) ? q : null;
  const record = m.tasks.has(q) ? q : null;
  if (!id && record) {
    const mark = /\[\d+\]|#\d+/.exec(q);
    if (mark && page.nodes.has(q.slice(0, mark.index))) id = q.slice(0, mark.index);
  }
  if (!id) id = [...page.nodes.keys()].find((k) => k.includes(q)) || null;
  if (!id) {
    setText($('search-result'), `no task ${q}`);
    return false;
  }
  setText($('search-result'), '');
  for (const g of page.memberOf.get(id) || []) page.collapsed.delete(g);
  for (const entry of page.clusters.values()) entry.sig = '';
  for (const entry of page.nodes.values()) entry.sig = '';
  const n = page.nodes.get(id).node;
  centerOn(n.x, n.y, Math.max(page.view.k, 1));
  selectTask(record || id);
  return true;
}
$('graph-search').addEventListener('keydown', (event) => {
  if (event.key === 'Enter') focusTask(event.target.value);
});
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
  loadDebug();
  scheduleDraw();
}

// ---- actors: every session, a row each, only the rows in view made ----

const ROW = 20;
const actorList = virtualList($('actors'), ROW, (row, li) => {
  const actor = row.actor;
  const state = actor.active.length ? actor.active[actor.active.length - 1] : actor.status;
  const selected = page.selectedActor === actor.id;
  const sig = `${state}|${actor.status}|${selected}|${row.depth}`;
  if (li && li.dataset.sig === sig) return li;
  if (!li) {
    li = el('li', { 'data-actor': actor.actorId });
    li.dataset.id = actor.id;
  }
  li.dataset.sig = sig;
  li.dataset.status = actor.status;
  li.style.paddingLeft = `${row.depth * 12}px`;
  const label = el('span', { class: selected ? 'selected' : '' });
  label.append(`${actor.name}${actor.actorId !== actor.name ? ` ${actor.actorId}` : ''} `, el('span', { class: 'state' }, state));
  li.replaceChildren(label);
  return li;
});
actorList.follow = false;
$('actors').addEventListener('click', (event) => {
  const li = event.target.closest('li[data-actor]');
  if (!li) return;
  page.selectedActor = li.dataset.id;
  scheduleDraw();
});
$('actor-search').addEventListener('input', () => {
  page.actorsDrawn = null;
  scheduleDraw();
});

function drawActors() {
  const m = page.model;
  if (!m) return;
  const key = `${m.actorsVersion}|${page.selectedActor}|${$('actor-search').value}|${m.roots.length}`;
  if (page.actorsDrawn === key && page.actorsModel === m) return;
  page.actorsDrawn = key;
  page.actorsModel = m;
  const needle = $('actor-search').value.trim().toLowerCase();
  const rows = [];
  const walk = (id, depth) => {
    const actor = m.actors.get(id);
    if (!needle || `${actor.name} ${actor.actorId}`.toLowerCase().includes(needle)) rows.push({ actor, depth });
    for (const child of actor.children) walk(child, depth + 1);
  };
  for (const root of m.roots) walk(root, 0);
  actorList.set(rows, (row) => row.actor.id);
}

// ---- statecharts ----
// Each machine is laid out once by ELK (elkjs, served by the inspector itself): layered, edges
// routed orthogonally, every transition's label (its events and guards, one per line) placed
// by ELK between the layers, so no label sits under a state box and every edge stays in view.
// Without ELK (the script did not load) the server's own layout is drawn.

const LABEL_FONT = '10px system-ui, sans-serif';
const LABEL_LINE = 12;
const chartLayouts = new WeakMap();

function labelLines(arrow) {
  return (arrow.labels && arrow.labels.length ? arrow.labels : arrow.label ? [arrow.label] : []).map((l) => (l.length > 40 ? `${l.slice(0, 39)}…` : l));
}

function measureLines(lines) {
  const ctx = (measureLines.ctx ??= document.createElement('canvas').getContext('2d'));
  ctx.font = `600 ${LABEL_FONT}`; // the taken transition's label is bold: room for it
  return { width: Math.ceil(Math.max(0, ...lines.map((l) => ctx.measureText(l).width))) + 8, height: lines.length * LABEL_LINE + 4 };
}

/** The server's layout (layoutDag), in the shape drawChart draws. */
function serverLayout(view) {
  return {
    engine: 'dag',
    width: view.width,
    height: view.height,
    states: view.states.map((s) => ({ state: s, x: s.x - s.width / 2, y: s.y - s.height / 2, width: s.width, height: s.height })),
    edges: view.arrows.map((a) => {
      const lines = labelLines(a);
      const mid = a.points[Math.floor(a.points.length / 2)];
      const size = measureLines(lines);
      return { arrow: a, points: a.points, label: mid && lines.length ? { lines, x: mid.x + 3, y: mid.y - size.height, ...size } : null };
    }),
  };
}

async function elkLayout(view) {
  const edges = [
    ...view.arrows.map((a) => ({ arrow: a, lines: labelLines(a) })),
    // events that lead back to the same state, as loops
    ...view.states.filter((s) => s.selfEvents.length).map((s) => ({ arrow: { from: s.key, to: s.key, label: s.selfEvents.join(', '), labels: s.selfEvents, self: true }, lines: s.selfEvents })),
  ];
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.padding': '[top=14,left=14,bottom=14,right=14]',
      'elk.spacing.nodeNode': '30',
      'elk.spacing.edgeEdge': '12',
      'elk.spacing.edgeNode': '14',
      'elk.spacing.edgeLabel': '4',
      'elk.layered.spacing.nodeNodeBetweenLayers': '50',
      'elk.layered.spacing.edgeNodeBetweenLayers': '16',
      'elk.layered.spacing.edgeEdgeBetweenLayers': '12',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      // the definition's order reads left to right: the initial state first, a way back is the reversed edge
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
    },
    children: view.states.map((s) => ({ id: `s:${s.key}`, width: s.width, height: s.height })),
    edges: edges.map((e, i) => ({ id: `e:${i}`, sources: [`s:${e.arrow.from}`], targets: [`s:${e.arrow.to}`], labels: e.lines.length ? [{ id: `l:${i}`, text: e.lines.join('\n'), ...measureLines(e.lines) }] : [] })),
  };
  const out = await new ELK().layout(graph);
  const placed = new Map(out.children.map((c) => [c.id, c]));
  return {
    engine: 'elk',
    width: out.width,
    height: out.height,
    states: view.states.map((s) => {
      const c = placed.get(`s:${s.key}`);
      return { state: s, x: c.x, y: c.y, width: c.width, height: c.height };
    }),
    edges: out.edges.map((e, i) => {
      const points = (e.sections || []).flatMap((sec, j) => [...(j === 0 ? [sec.startPoint] : []), ...(sec.bendPoints || []), sec.endPoint]);
      const l = e.labels && e.labels[0];
      return { arrow: edges[i].arrow, points, label: l ? { lines: edges[i].lines, x: l.x, y: l.y, width: l.width, height: l.height } : null };
    }),
  };
}

/** The layout of a machine's chart: ready, or undefined while ELK works (drawChart runs again when it is done). */
function chartLayout(view) {
  const known = chartLayouts.get(view);
  if (known && !(known instanceof Promise)) return known;
  if (known) return undefined;
  if (typeof ELK === 'undefined') {
    chartLayouts.set(view, serverLayout(view));
    return chartLayouts.get(view);
  }
  const done = (layout) => {
    chartLayouts.set(view, layout);
    page.chartDrawn = null;
    if (page.tab === 'chart') drawChart();
  };
  chartLayouts.set(view, elkLayout(view).then(done, (error) => {
    console.warn('statechart layout:', error);
    done(serverLayout(view));
  }));
  return undefined;
}

function drawChart() {
  const svg = $('chart');
  const m = page.model;
  if (!m) return;
  const id = page.selectedActor && m.actors.has(page.selectedActor) ? page.selectedActor : m.roots.find((r) => m.actors.get(r).machine);
  const actor = id && m.actors.get(id);
  const view = actor && actor.machine && page.machines[actor.machine];
  const key = actor ? `${actor.id}|${actor.active.join(',')}|${(actor.previous || []).join(',')}|${!!view}` : '';
  if (page.chartDrawn === key) return;
  const layout = view && chartLayout(view);
  if (view && !layout) return; // ELK is at work: drawn when it is done
  page.chartDrawn = key;
  svg.replaceChildren();
  $('chart-any').textContent = '';
  $('chart-title').textContent = actor ? `Statechart: ${actor.name}${actor.actorId !== actor.name ? ` ${actor.actorId}` : ''}` : 'Statechart';
  if (!view) return;
  // The view box holds every box, every arrow's points and every label.
  let minX = 0;
  let minY = 0;
  let maxX = layout.width;
  let maxY = layout.height;
  const grow = (x, y, w = 0, h = 0) => {
    minX = Math.min(minX, x - 4);
    minY = Math.min(minY, y - 4);
    maxX = Math.max(maxX, x + w + 4);
    maxY = Math.max(maxY, y + h + 4);
  };
  for (const e of layout.edges) {
    for (const p of e.points) grow(p.x, p.y);
    if (e.label) grow(e.label.x, e.label.y, e.label.width, e.label.height);
  }
  svg.setAttribute('width', maxX - minX);
  svg.setAttribute('height', maxY - minY);
  svg.setAttribute('viewBox', `${minX} ${minY} ${maxX - minX} ${maxY - minY}`);
  svg.dataset.actor = actor.actorId;
  svg.dataset.layout = layout.engine;
  svg.append(arrowMarker());
  const top = (path) => (path || '').split('.')[0];
  const from = new Set((actor.previous || []).map(top));
  const to = new Set(actor.active.map(top));
  const labels = el('svg:g', { class: 'tlabels' });
  for (const { arrow, points, label } of layout.edges) {
    const taken = from.has(arrow.from) && to.has(arrow.to) && arrow.from !== arrow.to && !from.has(arrow.to);
    svg.append(el('svg:polyline', { class: `transition${taken ? ' taken' : ''}${arrow.self ? ' self' : ''}`, 'data-from': arrow.from, 'data-to': arrow.to, points: points.map((p) => `${p.x},${p.y}`).join(' ') }));
    if (!label) continue;
    // each transition on its line (events and guards in full on hover), on a white ground
    const g = el('svg:g', { class: `tlabel-box${taken ? ' taken' : ''}`, 'data-from': arrow.from, 'data-to': arrow.to });
    g.append(el('svg:rect', { class: 'tlabel-bg', x: label.x, y: label.y, width: label.width, height: label.height, rx: 3 }));
    const text = el('svg:text', { class: `tlabel${taken ? ' taken' : ''}` });
    label.lines.forEach((line, i) => text.append(el('svg:tspan', { x: label.x + 4, y: label.y + 2 + (i + 1) * LABEL_LINE - 2 }, line)));
    text.append(el('svg:title', {}, arrow.label));
    g.append(text);
    labels.append(g);
  }
  const active = new Set(actor.active);
  for (const { state: s, x, y, width, height } of layout.states) {
    const on = active.has(s.key);
    const g = el('svg:g', { class: `state-box${on ? ' active' : ''}${s.type === 'final' ? ' final' : ''}`, 'data-state': s.key, transform: `translate(${x},${y})` });
    g.append(el('svg:rect', { width, height, rx: 10 }));
    g.append(el('svg:text', { class: 'skey', x: 10, y: 20 }, `${s.initial ? '▸ ' : ''}${s.key}`));
    s.children.forEach((path, i) => {
      const depth = path.split('.').length - 1;
      g.append(el('svg:text', { class: `schild${active.has(path) ? ' active' : ''}`, x: 10 + depth * 8, y: 20 + (i + 1) * 16 }, path.split('.').pop()));
    });
    if (s.selfEvents.length) g.append(el('svg:title', {}, `↻ ${s.selfEvents.join(', ')}`));
    svg.append(g);
  }
  svg.append(labels);
  if (view.anyState.length) $('chart-any').textContent = `from any state: ${view.anyState.join(' · ')}`;
}

// ---- the sequence view: the orchestrator and its sessions, an arrow per event ----

const TO_SESSION = /^(task\.started|session\.started|task\.retry|signal)/;
const seqList = virtualList($('sequence'), ROW, (row, li) => {
  if (li) return li;
  const e = row.e;
  const lane = row.lane;
  li = el('li', { 'data-type': e.type, 'data-task': e.taskId || '' });
  const toSession = TO_SESSION.test(e.type);
  const span = lane < 0 ? 'self' : toSession ? 'right' : 'left';
  const arrow = el('span', { class: `seq-arrow ${span}`, title: `${e.type} ${e.taskId || ''} ${e.text}` });
  arrow.style.setProperty('--lane', String(Math.max(0, lane)));
  arrow.append(el('span', { class: 'seq-label' }, `${e.type}${e.taskId ? ` ${e.taskId}` : ''}${e.text ? `: ${e.text}` : ''}`));
  li.append(arrow);
  return li;
});
seqList.follow = true;
const seqView = {
  reset() {
    this.count = 0;
    this.key = null;
  },
};
$('seq-filter').addEventListener('input', () => {
  seqView.reset();
  scheduleDraw();
});

function drawSequence() {
  const m = page.model;
  if (!m) return;
  const wanted = $('seq-filter').value.split(/[\s,]+/).filter(Boolean);
  const key = `${wanted.join(',')}|${m.log.length}`;
  if (seqView.key === key && seqView.model === m) return;
  seqView.key = key;
  seqView.model = m;
  const rows = [];
  const lanes = [];
  for (const e of m.log) {
    if (e.cat === 'xstate') continue;
    if (wanted.length && !(e.taskId && wanted.some((w) => e.taskId === w || e.taskId.startsWith(`${w}[`) || e.taskId.startsWith(`${w}#`) || e.taskId.startsWith(`${w}.`)))) continue;
    let lane = -1;
    if (e.taskId) {
      if (wanted.length) {
        lane = lanes.indexOf(e.taskId);
        if (lane < 0) lane = lanes.push(e.taskId) - 1;
      } else lane = 0;
    }
    rows.push({ e, lane });
  }
  const heads = ['orchestrator', ...(wanted.length ? lanes : ['sessions'])];
  const laneBar = $('seq-lanes');
  laneBar.style.setProperty('--lanes', String(heads.length));
  laneBar.replaceChildren(...heads.map((h) => el('span', { class: 'seq-head' }, h)));
  $('sequence').style.setProperty('--lanes', String(heads.length));
  seqList.set(rows, (row) => row.e);
}

for (const button of document.querySelectorAll('#lower-tabs button')) {
  button.addEventListener('click', () => {
    page.tab = button.dataset.tab;
    for (const b of document.querySelectorAll('#lower-tabs button')) b.classList.toggle('on', b === button);
    for (const tab of ['chart', 'sequence', 'context']) $(`tab-${tab}`).hidden = tab !== page.tab;
    page.chartDrawn = null;
    seqView.reset();
    if (page.tab === 'context') loadSnapshot();
    scheduleDraw();
  });
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
  const key = t ? `${taskId}|${t.status}|${t.reason}|${t.error && t.error.message}|${t.json !== undefined}|${t.allowedFailure}` : '';
  if (box.dataset.sig === key) return;
  box.dataset.sig = key;
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
  // the server's details are older than this record: ask again
  if (page.debug.taskId === taskId && page.debug.status !== t.status) loadDebug();
}

// ---- the task's debugging panel, from the server's HTTP API ----

function runApi(path) {
  return `/api/runs/${encodeURIComponent(page.key)}${path}`;
}

/** GET or POST JSON; resolves { ok, status, body } (body null when the answer is not JSON). */
async function api(path, init) {
  try {
    const res = await fetch(runApi(path), init && { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(init) });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    return { ok: res.ok, status: res.status, body };
  } catch (error) {
    return { ok: false, status: 0, body: { error: String(error) } };
  }
}

/** A short line saying why the server could not answer. */
function unavailable(what, answer) {
  const why = answer.status === 404 ? 'not available from this inspector' : `failed (${answer.status || 'no connection'})`;
  return el('p', { class: 'unavailable', 'data-status': String(answer.status) }, `${what}: ${why}${answer.body && answer.body.error ? `: ${answer.body.error}` : ''}`);
}

async function loadDebug() {
  const taskId = page.selectedTask;
  const box = $('task-debug');
  const t = page.model && page.model.tasks.get(taskId);
  page.debug = { taskId, status: t ? t.status : null };
  box.dataset.task = taskId || '';
  if (!taskId) {
    box.replaceChildren();
    return;
  }
  const answer = await api(`/tasks/${encodeURIComponent(taskId)}`);
  if (page.selectedTask !== taskId) return;
  box.replaceChildren();
  box.dataset.loaded = taskId;
  if (!answer.ok || !answer.body) {
    box.append(unavailable('task details', answer));
    return;
  }
  drawDebug(box, taskId, answer.body);
}

function drawDebug(box, taskId, d) {
  const row = (cls, name, value) => {
    const p = el('p', { class: cls });
    p.append(el('span', { class: 'label' }, name), value);
    box.append(p);
  };
  if (d.exitCode !== undefined && d.exitCode !== null) row('exit-code', 'exit code', String(d.exitCode));
  if (d.stderrTail) {
    box.append(el('span', { class: 'label' }, 'stderr (last lines)'));
    box.append(el('pre', { class: 'stderr' }, d.stderrTail));
  }
  if (d.reason) row('skip-reason', 'skipped because', d.reason);
  if (d.waitingFor) {
    const p = el('p', { class: 'waiting-for' });
    p.append(el('span', { class: 'label' }, 'waits for'), `signal ${d.waitingFor.signal}${d.waitingFor.since ? ` since ${new Date(d.waitingFor.since).toLocaleTimeString()}` : ''} `);
    const payload = el('input', { class: 'signal-payload', placeholder: 'payload (JSON, optional)' });
    const button = el('button', { type: 'button', class: 'send-signal' }, `send ${d.waitingFor.signal}`);
    const said = el('span', { class: 'signal-result' });
    button.onclick = async () => {
      let value = null;
      if (payload.value.trim()) {
        try {
          value = JSON.parse(payload.value);
        } catch {
          value = payload.value;
        }
      }
      const answer = await api('/signal', { name: d.waitingFor.signal, payload: value });
      said.replaceChildren(answer.ok ? 'sent' : unavailable('signal', answer));
    };
    p.append(payload, button, said);
    box.append(p);
  }
  const attempts = el('div', { class: 'attempts' });
  for (const a of d.attempts || []) {
    const details = el('details', { class: 'attempt', 'data-attempt': String(a.n) });
    const summary = el('summary', {}, `attempt ${a.n}: ${a.status}${a.startedAt && a.endedAt ? ` · ${fmtMs(a.endedAt - a.startedAt)}` : ''}${a.outputBytes ? ` · ${a.outputBytes} B output` : ''}${a.error ? ` · ${a.error.code}: ${a.error.message}` : ''}`);
    details.append(summary);
    details.addEventListener('toggle', () => {
      if (details.open && !details.dataset.loaded) {
        details.dataset.loaded = '1';
        if (a.prompt) {
          const prompt = el('details', { class: 'prompt' });
          prompt.append(el('summary', {}, 'prompt (rendered)'), el('pre', {}, a.prompt));
          details.append(prompt);
        }
        const output = el('div', { class: 'output' });
        details.append(output);
        loadOutput(output, taskId, a.n, 0);
        const transcript = el('ol', { class: 'attempt-transcript' });
        details.append(transcript);
        loadTranscript(transcript, taskId, a.n);
      }
    });
    attempts.append(details);
  }
  box.append(attempts);
}

const OUTPUT_PAGE = 16384;

/** A page of the attempt's output, and a button for the next one (the whole output, paged). */
async function loadOutput(box, taskId, attempt, offset) {
  const answer = await api(`/tasks/${encodeURIComponent(taskId)}/output?attempt=${attempt}&offset=${offset}&limit=${OUTPUT_PAGE}`);
  if (!answer.ok || !answer.body) {
    box.append(unavailable('output', answer));
    return;
  }
  const o = answer.body;
  if (offset === 0) box.append(el('span', { class: 'label' }, `output (${o.totalBytes} B)`));
  box.append(el('pre', { class: 'output-page', 'data-offset': String(o.offset) }, o.text));
  if (o.nextOffset !== null && o.nextOffset !== undefined) {
    const more = el('button', { type: 'button', class: 'more-output' }, `more (${o.nextOffset}/${o.totalBytes} B)`);
    more.onclick = () => {
      more.remove();
      loadOutput(box, taskId, attempt, o.nextOffset);
    };
    box.append(more);
  }
}

async function loadTranscript(list, taskId, attempt) {
  const answer = await api(`/tasks/${encodeURIComponent(taskId)}/transcript?attempt=${attempt}`);
  if (!answer.ok || !answer.body) {
    list.append(unavailable('transcript', answer));
    return;
  }
  for (const line of answer.body.lines || []) {
    const text = typeof line === 'string' ? line : JSON.stringify(line);
    const type = typeof line === 'object' && line ? line.type : '';
    const li = el('li', { class: 'line', 'data-kind': type || 'line' });
    li.append(el('span', { class: 'kind' }, type || ''), text.length > 600 ? `${text.slice(0, 599)}…` : text);
    list.append(li);
  }
}

// ---- the live transcript: lines added, never redrawn ----

function drawTranscript() {
  const list = $('transcript');
  const taskId = page.selectedTask;
  setText($('transcript-title'), taskId ? `Transcript: ${taskId}` : 'Transcript (click a task)');
  const lines = (taskId && page.model && page.model.transcripts.get(taskId)) || [];
  if (list.dataset.task === (taskId || '') && page.transcriptModel === page.model && lines.length === page.transcriptCount && (lines.length > 0 || !taskId)) return;
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  if (list.dataset.task !== (taskId || '') || page.transcriptModel !== page.model || lines.length < page.transcriptCount) {
    list.dataset.task = taskId || '';
    page.transcriptModel = page.model;
    page.transcriptCount = 0;
    list.replaceChildren();
  }
  if (lines.length > page.transcriptCount) {
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    const from = Math.max(page.transcriptCount, lines.length - 2000);
    for (let i = from; i < lines.length; i++) {
      const line = lines[i];
      const li = el('li', { class: 'line', 'data-kind': line.kind });
      li.append(el('span', { class: 'kind' }, line.kind), line.text);
      list.append(li);
    }
    page.transcriptCount = lines.length;
  }
  if (taskId && lines.length === 0 && !list.querySelector('.empty')) list.append(el('li', { class: 'empty' }, 'nothing yet'));
  if (stick) list.scrollTop = list.scrollHeight;
}

// ---- the event log: every event, only the rows in view made ----

const logList = virtualList($('log'), ROW, (e, li) => {
  if (li) return li;
  li = el('li', { 'data-cat': e.cat, 'data-type': e.type, title: `${e.type} ${e.taskId || ''} ${e.text}` });
  li.append(el('span', { class: 'type' }, e.type));
  if (e.taskId) li.append(el('span', { class: 'task-ref' }, e.taskId));
  li.append(e.text);
  return li;
});
const logView = {
  reset() {
    this.filter = null;
    this.count = 0;
    this.items = [];
  },
};
logView.reset();
$('log').addEventListener('click', (event) => {
  const ref = event.target.closest('.task-ref');
  if (ref) focusTask(ref.textContent);
});

function drawLog() {
  const m = page.model;
  if (!m) return;
  const cats = new Set([...document.querySelectorAll('#log-filters input[type=checkbox]')].filter((c) => c.checked).map((c) => c.dataset.cat));
  const needle = $('log-search').value.trim().toLowerCase();
  const filter = `${[...cats].join(',')}|${needle}`;
  if (logView.filter !== filter || logView.model !== m) {
    logView.filter = filter;
    logView.model = m;
    logView.count = 0;
    logView.items = [];
  }
  if (logView.count === m.log.length && logList.items === logView.items) return;
  for (let i = logView.count; i < m.log.length; i++) {
    const e = m.log[i];
    if (!cats.has(e.cat)) continue;
    if (needle && !`${e.type} ${e.taskId || ''} ${e.text}`.toLowerCase().includes(needle)) continue;
    logView.items.push(e);
  }
  logView.count = m.log.length;
  logList.set(logView.items, (e) => e);
}

// ---- time travel ----

function moveTo(cursor) {
  page.cursor = cursor === null || cursor >= page.entries.length ? null : Math.max(0, cursor);
  rebuild();
  if (page.tab === 'context') loadSnapshot();
}

function step(delta) {
  const at = page.cursor === null ? page.entries.length : page.cursor;
  moveTo(at + delta);
}

/** The orchestrator's context (and every actor's state) as of the shown event, from the server's snapshots. */
async function loadSnapshot() {
  const upTo = page.cursor === null ? page.entries.length : page.cursor;
  const title = $('context-title');
  const pre = $('context');
  title.replaceChildren(`as of event ${upTo}/${page.entries.length} `);
  const rerun = el('button', { type: 'button', id: 'rerun' }, page.selectedTask ? `rerun from ${page.selectedTask}` : 'rerun from here (select a task)');
  rerun.disabled = !page.selectedTask;
  rerun.onclick = rerunFromHere;
  title.append(rerun, el('span', { id: 'rerun-result' }));
  const answer = await api(`/snapshots?upTo=${upTo}`);
  const now = page.cursor === null ? page.entries.length : page.cursor;
  if (now !== upTo) return;
  if (!answer.ok || !answer.body) {
    pre.replaceChildren(unavailable('snapshots', answer));
    return;
  }
  pre.dataset.index = String(answer.body.index);
  pre.textContent = JSON.stringify({ context: answer.body.context, actors: answer.body.actors }, null, 2);
}

/** Starts `agents-sdk rerun --from <task>` on the server. */
async function rerunFromHere() {
  const from = page.selectedTask;
  if (!from) return;
  const answer = await api('/rerun', { from });
  const out = $('rerun-result');
  if (out) out.replaceChildren(answer.ok ? ` started run ${answer.body && answer.body.runId}` : unavailable('rerun', answer));
}

// ---- controls ----

$('slider').addEventListener('input', (event) => moveTo(Number(event.target.value)));
$('step-back').addEventListener('click', () => step(-1));
$('step-fwd').addEventListener('click', () => step(1));
$('live').addEventListener('click', () => moveTo(null));
document.addEventListener('keydown', (event) => {
  if (event.target.closest && event.target.closest('input, textarea, select')) return;
  if (event.key === 'ArrowLeft') step(-1);
  else if (event.key === 'ArrowRight') step(1);
  else return;
  event.preventDefault();
});
for (const box of document.querySelectorAll('#log-filters input')) box.addEventListener('input', scheduleDraw);
// elapsed times of running tasks move on
setInterval(() => {
  if (page.model && page.cursor === null && !page.model.status) {
    for (const entry of page.nodes.values()) if (entry.g.getAttribute('data-status') === 'running') entry.sig = '';
    scheduleDraw();
  }
}, 1000);
setInterval(() => send({ type: 'list' }), 5000);

connect();
