import { ApiError } from '../http.ts';

/**
 * The Compute list `filter` language: `field op value` comparisons with `=`, `!=`, `:`, `<`, `>`, `<=`,
 * `>=` and the regex forms `eq`/`ne` (full match); `AND`, `OR`, `NOT`, parentheses, and the old
 * "adjacent parenthesised terms mean AND" form gcloud still sends, e.g. `(name eq "a.*")(status eq READY)`.
 */
export type Predicate = (resource: Record<string, unknown>) => boolean;

type Token = { t: 'lp' | 'rp' | 'word' | 'str' | 'op'; v: string };

export function parseFilter(text: string | null): Predicate {
  if (!text?.trim()) return () => true;
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const bad = (why: string) =>
    new ApiError(400, `Invalid value for field 'filter': '${text}'. ${why}`, 'invalid');

  const expr = (): Predicate => {
    let left = term();
    for (;;) {
      const tok = peek();
      if (!tok || tok.t === 'rp') return left;
      if (tok.t === 'word' && tok.v === 'OR') {
        i++;
        const l = left;
        const r = term();
        left = (x) => l(x) || r(x);
      } else {
        if (tok.t === 'word' && tok.v === 'AND') i++;
        const l = left;
        const r = term();
        left = (x) => l(x) && r(x);
      }
    }
  };

  const term = (): Predicate => {
    const tok = peek();
    if (!tok) throw bad('Unexpected end of filter.');
    if (tok.t === 'word' && (tok.v === 'NOT' || tok.v === '-')) {
      i++;
      const inner = term();
      return (x) => !inner(x);
    }
    if (tok.t === 'lp') {
      i++;
      const inner = expr();
      if (peek()?.t !== 'rp') throw bad('Missing closing parenthesis.');
      i++;
      return inner;
    }
    if (tok.t !== 'word') throw bad(`Unexpected "${tok.v}".`);
    i++;
    const field = tok.v;
    const opTok = peek();
    if (!opTok) throw bad(`Missing operator after "${field}".`);
    let op: string;
    if (opTok.t === 'op') op = opTok.v;
    else if (opTok.t === 'word' && (opTok.v === 'eq' || opTok.v === 'ne')) op = opTok.v;
    else throw bad(`Missing operator after "${field}".`);
    i++;
    const valTok = peek();
    if (!valTok || (valTok.t !== 'word' && valTok.t !== 'str'))
      throw bad(`Missing value after "${field} ${op}".`);
    i++;
    return comparison(field, op, valTok.v, bad);
  };

  const pred = expr();
  if (i !== tokens.length) throw bad('Unbalanced parentheses.');
  return pred;
}

function comparison(field: string, op: string, value: string, bad: (why: string) => ApiError): Predicate {
  if (op === 'eq' || op === 'ne') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`);
    } catch {
      throw bad(`Invalid regular expression "${value}".`);
    }
    return (x) => {
      const v = lookup(x, field);
      const hit = v !== undefined && re.test(String(v));
      return op === 'eq' ? hit : !hit;
    };
  }
  return (x) => {
    const v = lookup(x, field);
    if (op === ':') {
      if (value === '*') return v !== undefined;
      return v !== undefined && String(v).includes(value);
    }
    if (op === '!=') return v === undefined || String(v) !== value;
    if (v === undefined) return false;
    const s = String(v);
    switch (op) {
      case '=':
        return s === value;
      case '<':
        return s < value;
      case '>':
        return s > value;
      case '<=':
        return s <= value;
      case '>=':
        return s >= value;
      default:
        return false;
    }
  };
}

function lookup(x: Record<string, unknown>, field: string): unknown {
  let cur: unknown = x;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === null || typeof cur === 'object') return cur === null ? undefined : JSON.stringify(cur);
  return cur;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      out.push({ t: 'lp', v: c });
      i++;
    } else if (c === ')') {
      out.push({ t: 'rp', v: c });
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        // Only an escaped quote is unescaped: gcloud sends RE2 escapes such as \b inside quotes.
        if (text[j] === '\\' && text[j + 1] === c) j++;
        s += text[j];
        j++;
      }
      out.push({ t: 'str', v: s });
      i = j + 1;
    } else {
      const m = /^(!=|<=|>=|=|<|>|:)/.exec(text.slice(i));
      if (m) {
        out.push({ t: 'op', v: m[1] as string });
        i += (m[1] as string).length;
        continue;
      }
      let j = i;
      while (j < text.length && !/[\s()=!<>:"']/.test(text[j] as string)) j++;
      if (j === i) j++;
      out.push({ t: 'word', v: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}
