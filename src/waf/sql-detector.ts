/**
 * A tokenizer-based SQL injection detector in the spirit of libinjection:
 * instead of patterns over characters, the value is read as SQL would read
 * it — in three contexts, as it is and as if it continued a string opened
 * with `'` or `"` — into a short fingerprint of token types, and the
 * fingerprint is judged by its shape: a string closed and followed by a
 * logic operator and a comparison (`' or 'a'='a`), a UNION SELECT, a stacked
 * statement after `;`, a function call after a logic operator (`and
 * sleep(5)`), a string closed straight into a comment (`admin'--`).
 * English text rarely has those shapes, which is how this catches what
 * keyword patterns miss while passing "union was a great select".
 *
 * Token types (one character each):
 *   s string   n number (also true/false/null)   v @variable   b bareword   f function name before `(`
 *   & and/or/xor/&&/||   o operator   E statement (select, insert, drop, exec...)   U union [all|distinct]
 *   B order by/group by   k other keyword   ( ) , ;   c comment
 * Linear: one pass per context over at most MAX_TOKENS tokens.
 */

/** The shapes are judged on the first tokens (a UNION before SELECT anywhere is tracked on the way). */
const MAX_TOKENS = 12;

const STATEMENTS = new Set(['select', 'insert', 'update', 'delete', 'drop', 'alter', 'create', 'exec', 'execute', 'declare', 'truncate', 'shutdown', 'waitfor', 'merge', 'replace', 'grant', 'revoke', 'call', 'load_file', 'handler']);
const LOGIC = new Set(['and', 'or', 'xor', 'not', '&&', '||']);
const KEYWORDS = new Set([
  'from', 'where', 'having', 'limit', 'offset', 'into', 'outfile', 'dumpfile', 'values', 'set', 'table', 'like', 'rlike',
  'regexp', 'between', 'is', 'in', 'as', 'case', 'when', 'then', 'else', 'end', 'div', 'mod', 'sounds', 'delay', 'procedure',
  'join', 'on', 'top', 'distinct', 'database', 'exists', 'collate', 'escape', 'binary', 'asc', 'desc', 'all',
]);
const CONSTANTS = new Set(['true', 'false', 'null', 'current_user', 'user', 'version', 'pi', 'rand']);
/** Words that are SQL functions when a `(` follows; any other bareword before `(` is one too, but weaker. */
const FUNCTIONS = new Set([
  'sleep', 'benchmark', 'pg_sleep', 'waitfor', 'char', 'chr', 'ascii', 'concat', 'concat_ws', 'group_concat', 'substring',
  'substr', 'mid', 'length', 'version', 'user', 'database', 'schema', 'extractvalue', 'updatexml', 'load_file', 'hex',
  'unhex', 'cast', 'convert', 'count', 'if', 'ifnull', 'iif', 'md5', 'sha1', 'ord', 'exp', 'floor', 'rand', 'elt',
  'make_set', 'name_const', 'row', 'json_keys', 'current_user', 'system_user', 'session_user', 'dbms_pipe.receive_message',
  'utl_inaddr.get_host_name', 'xp_cmdshell', 'randomblob', 'sqlite_version', 'drop', 'select', 'exists', 'pg_read_file',
  'lo_import', 'dblink', 'sys_eval', 'gtid_subset', 'polygon', 'geometrycollection', 'multipoint',
]);

const OPERATOR_CHARS = '=<>!+-*/%^|&~:';

function isWordStart(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code === 36 || code >= 0x80;
}

function isWordPart(code: number): boolean {
  return isWordStart(code) || (code >= 48 && code <= 57) || code === 46;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The fingerprint of `text` read starting inside a string opened by `quote` ('' for none), and whether a comment ends it. */
export function fingerprint(text: string, quote: '' | "'" | '"'): string {
  let out = '';
  let i = 0;
  const n = text.length;
  if (quote !== '') {
    const close = findClosingQuote(text, 0, quote);
    out += 's';
    i = close < 0 ? n : close + 1;
  }
  let previousWord = '';
  while (i < n && out.length < MAX_TOKENS) {
    const code = text.charCodeAt(i);
    const ch = text[i] as string;
    if (code <= 32 || code === 0xa0) {
      i++;
      continue;
    }
    // Comments: `-- `, `#`, `/* */`; MySQL's `/*!` executable comment is read as its contents.
    if ((ch === '-' && text[i + 1] === '-') || ch === '#') {
      out += 'c';
      break;
    }
    if (ch === '/' && text[i + 1] === '*') {
      if (text[i + 2] === '!') {
        i += 3;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
        continue;
      }
      const close = text.indexOf('*/', i + 2);
      if (close < 0) {
        out += 'c';
        break;
      }
      i = close + 2;
      continue;
    }
    if (ch === '*' && text[i + 1] === '/') {
      i += 2;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      const close = findClosingQuote(text, i + 1, ch);
      // A backticked name is an identifier, not a string.
      out += ch === '`' ? 'b' : 's';
      i = close < 0 ? n : close + 1;
      continue;
    }
    if (isDigit(code) || (ch === '.' && isDigit(text.charCodeAt(i + 1)))) {
      i++;
      while (i < n && (isWordPart(text.charCodeAt(i)))) i++;
      out += 'n';
      continue;
    }
    if (ch === '@') {
      i++;
      if (text[i] === '@') i++;
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      out += 'v';
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === ';') {
      out += ch;
      i++;
      continue;
    }
    if ((ch === '&' && text[i + 1] === '&') || (ch === '|' && text[i + 1] === '|')) {
      out += '&';
      i += 2;
      continue;
    }
    if (OPERATOR_CHARS.includes(ch)) {
      i++;
      while (i < n && OPERATOR_CHARS.includes(text[i] as string) && !(text[i] === '-' && text[i + 1] === '-')) i++;
      out += 'o';
      continue;
    }
    if (isWordStart(code)) {
      const start = i;
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      const word = text.slice(start, i).toLowerCase();
      let j = i;
      while (j < n && text.charCodeAt(j) <= 32) j++;
      const callsWith = text[j] === '(';
      out += classifyWord(word, callsWith, previousWord);
      // `union all select`, `order by`: one token.
      if ((word === 'all' || word === 'distinct') && out.endsWith('Uk')) out = out.slice(0, -1);
      if (word === 'by' && (previousWord === 'order' || previousWord === 'group')) out = `${out.slice(0, -2)}B`;
      previousWord = word;
      continue;
    }
    // Anything else (brackets, unicode punctuation) ends nothing and means little.
    i++;
  }
  return out;
}

function classifyWord(word: string, callsWith: boolean, previous: string): string {
  if (callsWith && FUNCTIONS.has(word)) return 'f';
  if (word === 'union') return 'U';
  if (STATEMENTS.has(word)) return 'E';
  if (LOGIC.has(word)) return '&';
  if (CONSTANTS.has(word)) return 'n';
  if (KEYWORDS.has(word) || (word === 'by' && (previous === 'order' || previous === 'group'))) return 'k';
  return callsWith ? 'g' : 'b';
}

function findClosingQuote(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === quote) {
      // A doubled quote is an escaped one.
      if (text[i + 1] === quote) {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

/**
 * Shapes that mean SQL syntax took over. Fingerprints are at most MAX_TOKENS characters, so these
 * (simple, anchored) expressions run in bounded time.
 */
const ATTACK_SHAPES: readonly RegExp[] = [
  // UNION [ALL] SELECT, also as `union(select`.
  /U\(*E/,
  // A closed string or a number, then a logic operator and a comparison or a call: ' or 'a'='a, 1 and 1=1, ' and sleep(5)
  /^[sn]\)*&\(*[snvbf]\)*o\(*[snvbfg(]/,
  /^[sn]\)*&\(*[fg]\(/,
  /^[sn]\)*&\(*E/,
  /^[sn]\)*o\(*E/,
  // A logic operator opening the value: or 1=1, and 1=2
  /^&\(*[sn]\)*o\(*[sn]/,
  // Stacked statements: '; drop table x, 1; exec xp_cmdshell
  /^[sn]?\)*;\(*E/,
  // A string closed into a comment: admin'-- , admin')#
  /^s\)*c$/,
  // A string closed, then a logic operator and a value, then the rest cut off: ' or 1--, 1' or '1
  /^s\)*&\(*[snv]\)*c?$/,
  // ORDER BY a column number to count columns: 1 order by 5--
  /^[sn]\)*Bn/,
  // A dangerous function called right after a closed string or number: 1' || sleep(5), '+benchmark(
  /^[sn]\)*o\(*f\(/,
  // A whole statement given as the value: select * from, select 1,2, select @@version
  /^E(?:ok|n,|v|f\()/,
  // Into outfile and friends after a closed string or number.
  /^[sn]\)*U/,
  // A string closed, then WHERE / HAVING / LIMIT-style keywords with a comparison.
  /^s\)*k[snvb]o/,
  // Time and error functions anywhere after a closed string: '-extractvalue(', '=sleep('
  /^s\)*[&o;]\(*f/,
];

/**
 * Every attack shape needs a quote, an operator other than a lone `-` or `/`, a bracket, a comma,
 * `;`, `@`, a comment, or one of the words UNION and ORDER/GROUP BY: a value without any (a word, a
 * number, an id, a path) is not read.
 */
const SQL_SIGNIFICANT = /['"`();,#=<>|&@*!~^%+:]|--|\/\*|union|order|group/i;

function mayBeSql(text: string): boolean {
  return SQL_SIGNIFICANT.test(text);
}

/** The fingerprint that makes `text` SQL injection, with its context, or null. */
export function detectSqlInjection(text: string): string | null {
  if (text.length < 2 || !mayBeSql(text)) return null;
  const contexts: ('' | "'" | '"')[] = [''];
  if (text.includes("'")) contexts.push("'");
  if (text.includes('"')) contexts.push('"');
  for (const quote of contexts) {
    const print = fingerprint(text, quote);
    for (const shape of ATTACK_SHAPES) {
      if (shape.test(print)) return `${quote === '' ? 'bare' : quote}:${print}`;
    }
  }
  return null;
}
