/**
 * JSON as Python's `json` module reads and writes it, for ADW's `.json` files: `json.loads`
 * keeps integers and floats apart (`1` and `1.0`), keys in their order, and `json.dumps(value,
 * indent=2)` writes floats with `repr` (`1.0`, `1e-05`, `-0.0`), non-ASCII and DEL as `\uXXXX`.
 * `JSON.parse` + `JSON.stringify` lose all of these (`1`, `0.00001`, `0`, integer-like keys first).
 *
 * @module
 */

/** A parsed JSON value that remembers what Python would: int or float, key order. */
export type PyJson =
  | null
  | boolean
  | string
  | { int: string }
  | { float: number }
  | PyJson[]
  | { pairs: Array<[string, PyJson]> };

/**
 * Parses one JSON text as `json.loads` does (numbers kept as int or float, keys in order,
 * a repeated key keeping its first place and its last value).
 *
 * @throws SyntaxError with Python's wording for the common case, `Expecting value: line 1 column 1 (char 0)`.
 */
export function parsePythonJson(text: string): PyJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what}: line 1 column ${i + 1} (char ${i})`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): PyJson => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const pairs: Array<[string, PyJson]> = [];
      const at = new Map<string, number>();
      ws();
      if (text[i] === '}') {
        i++;
        return { pairs };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expecting property name enclosed in double quotes');
        const key = str();
        ws();
        if (text[i] !== ':') fail("Expecting ':' delimiter");
        i++;
        const v = value();
        const seen = at.get(key);
        if (seen === undefined) {
          at.set(key, pairs.length);
          pairs.push([key, v]);
        } else pairs[seen]![1] = v;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return { pairs };
        } else fail("Expecting ',' delimiter");
      }
    }
    if (c === '[') {
      i++;
      const items: PyJson[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return items;
        } else fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('Expecting value');
    i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? { int: BigInt(m[0]).toString() } : { float: Number(m[0]) };
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) {
      i = start;
      fail('Unterminated string starting at');
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const out = value();
  ws();
  if (i < text.length) fail('Extra data');
  return out;
}

/** `repr(float)` as Python writes it: shortest round-trip digits, `1.0`, `1e-05`, `1e+16`, `-0.0`. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const fixed = x.toFixed(Math.max(0, mantissa.replace(/^-/, '').replace('.', '').length - 1 - e));
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

const escape = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** `json.dumps(value, indent=2)` (ensure_ascii on, as Python's default). */
export function dumpPythonJson(value: PyJson, indent = ''): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return escape(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + dumpPythonJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if ('int' in value) return value.int;
  if ('float' in value) return pythonFloat(value.float);
  if (value.pairs.length === 0) return '{}';
  return `{\n${value.pairs.map(([k, v]) => `${inner}${escape(k)}: ${dumpPythonJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** A parsed value as a plain JavaScript one (numbers as numbers). */
export function toPlain(value: PyJson): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toPlain);
  if ('int' in value) return Number(value.int);
  if ('float' in value) return value.float;
  return Object.fromEntries(value.pairs.map(([k, v]) => [k, toPlain(v)]));
}
