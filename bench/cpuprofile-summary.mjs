/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, self time
 * per file/package, and total (inclusive) time of the hottest frames.
 *
 *   node bench/cpuprofile-summary.mjs <file.cpuprofile> [top=30]
 */
import fs from 'node:fs';

const file = process.argv[2];
const top = Number(process.argv[3] ?? 30);
if (!file) {
  console.error('usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [top]');
  process.exit(1);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// self time per node from samples × time deltas
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (url) => {
  if (!url) return '(native)';
  const s = url.replace(/^file:\/\//, '');
  const nm = s.lastIndexOf('node_modules/');
  if (nm >= 0) return s.slice(nm + 'node_modules/'.length);
  const d = s.indexOf('/dist/');
  if (d >= 0) return s.slice(d + 1);
  const b = s.indexOf('/bench/');
  if (b >= 0) return s.slice(b + 1);
  return s.startsWith('node:') ? s : s.split('/').slice(-2).join('/');
};
const keyOf = (n) => {
  const cf = n.callFrame;
  return `${cf.functionName || '(anonymous)'}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
};
const pkgOf = (n) => {
  const u = shortUrl(n.callFrame.url);
  if (u.startsWith('dist/')) return u;
  if (u === '(native)') return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  return u.startsWith('node:') ? 'node:internal' : u.split('/')[0].startsWith('@') ? u.split('/').slice(0, 2).join('/') : u.split('/')[0];
};

const pct = (us) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms`;

// self by function
const byFn = new Map();
const byPkg = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  byFn.set(keyOf(n), (byFn.get(keyOf(n)) ?? 0) + us);
  byPkg.set(pkgOf(n), (byPkg.get(pkgOf(n)) ?? 0) + us);
}
// inclusive by function (count each function once per sample stack)
const incl = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const seen = new Set();
  for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
    const k = keyOf(nodes.get(id));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
}

const print = (title, map, limit) => {
  console.log(`\n## ${title}`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, limit)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
};
console.log(`profile: ${file}, ${(totalUs / 1000).toFixed(0)} ms sampled`);
print('self time by file / package', byPkg, 25);
print(`self time, top ${top} functions`, byFn, top);
print(`inclusive time, top ${top} functions`, incl, top);
