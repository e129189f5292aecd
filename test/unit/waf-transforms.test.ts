/** Each WAF transformation (src/waf/transforms.ts) on the encodings attackers stack. */
import test from 'ava';
import fc from 'fast-check';
import {
  resolvePath,
  base64Decode,
  base64Text,
  compressWhitespace,
  decodeLenientUtf8,
  escapeDecode,
  fullDecode,
  htmlEntityDecode,
  lowercase,
  nfkc,
  normalizePath,
  removeNulls,
  shellNormalize,
  sqlCommentCompress,
  urlDecode,
  urlDecodeOnce,
} from '../../src/waf/transforms.js';

test('urlDecode: %XX, +, %uXXXX, repeated to a bound, a stray % kept', (t) => {
  t.is(urlDecodeOnce('a%20b+c'), 'a b c');
  t.is(urlDecodeOnce('%u003cscript%u003e'), '<script>');
  t.is(urlDecode('%252527'), "'", 'triple encoding: three rounds');
  t.is(urlDecode('%25252527'), '%27', 'a fourth layer is left (bounded)');
  t.is(urlDecode('100%'), '100%');
  t.is(urlDecode('%zz%4'), '%zz%4');
  t.is(urlDecode('%E2%82%AC'), '€', 'UTF-8 sequences');
  const plain = 'plain-value';
  t.is(urlDecode(plain), plain);
});

test('overlong UTF-8 decodes to the character old decoders let through', (t) => {
  t.is(urlDecode('%c0%ae%c0%ae%c0%af'), '../');
  t.is(urlDecode('%e0%80%ae'), '.');
  t.is(decodeLenientUtf8([0xc0, 0xaf]), '/');
  t.is(decodeLenientUtf8([0xff, 0x41]), '\u00ffA', 'a byte that starts no sequence stays as Latin-1');
});

test('htmlEntityDecode: decimal, hex, missing semicolons, leading zeros, named', (t) => {
  t.is(htmlEntityDecode('&lt;svg/onload&equals;alert(1)&gt;'), '<svg/onload=alert(1)>');
  t.is(htmlEntityDecode('&#x3C;&#60;&#0000060'), '<<<');
  t.is(htmlEntityDecode('java&#X73;cript&colon;'), 'javascript:');
  t.is(htmlEntityDecode('AT&T &unknown; &'), 'AT&T &unknown; &');
});

test('escapeDecode: \\uXXXX, \\u{...}, \\xXX, one-letter escapes; a Windows path untouched', (t) => {
  t.is(escapeDecode('\\u003cscript\\u003e'), '<script>');
  t.is(escapeDecode('\\u{1F600}'), '😀');
  t.is(escapeDecode('\\x27 or 1=1'), "' or 1=1");
  t.is(escapeDecode('a\\nb\\tc'), 'a\nb\tc');
  t.is(escapeDecode('C:\\Program Files\\app'), 'C:\\Program Files\\app');
});

test('Base64: a value that decodes to text is decoded; words, hex ids and binary are not', (t) => {
  const encoded = Buffer.from("' UNION SELECT password FROM users--").toString('base64');
  t.is(base64Decode(encoded), "' UNION SELECT password FROM users--");
  t.is(base64Text(Buffer.from('<script>alert(1)</script>').toString('base64url')), '<script>alert(1)</script>');
  t.is(base64Text('verylongwordinlowercase'), null, 'one case, no digits: a word');
  t.is(base64Text('3f7a9c2e8b1d4f60a5e7'), null, 'a hex id decodes to binary');
  t.is(base64Text(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).toString('base64')), null);
  t.is(base64Text('short'), null);
});

test('nfkc: full-width and compatibility forms become ASCII; ASCII is returned as it is', (t) => {
  t.is(nfkc('＜ｓｃｒｉｐｔ＞'), '<script>');
  t.is(nfkc('ｕｎｉｏｎ　ｓｅｌｅｃｔ'), 'union select');
  const ascii = 'plain';
  t.is(nfkc(ascii), ascii);
});

test('lowercase, removeNulls, compressWhitespace', (t) => {
  t.is(lowercase('UnIoN'), 'union');
  t.is(removeNulls('<scr\0ipt>'), '<script>');
  t.is(compressWhitespace('union\t\n\x0b  select\u00a0x'), 'union select x');
});

test('sqlCommentCompress: /**/ as a space, MySQL executable comments, -- and #', (t) => {
  t.is(sqlCommentCompress('UNION/**/SELECT').replace(/\s+/g, ' '), 'UNION SELECT');
  t.is(sqlCommentCompress('UN/**/ION').replace(/\s+/g, ' '), 'UN ION', 'a comment separates tokens, as in SQL');
  t.is(sqlCommentCompress('/*!50000UNION*/ SELECT').replace(/\s+/g, ' ').trim(), 'UNION SELECT');
  t.is(sqlCommentCompress("admin'-- x").trim(), "admin'");
  t.is(sqlCommentCompress("1' # comment").trim(), "1'");
});

test('shellNormalize: $IFS, ${IFS}, quotes and backslashes inside words, empty expansions', (t) => {
  t.is(shellNormalize('cat$IFS/etc/passwd'), 'cat /etc/passwd');
  t.is(shellNormalize('cat${IFS}/etc/passwd'), 'cat /etc/passwd');
  t.is(shellNormalize("c'a't /etc/passwd"), 'cat /etc/passwd');
  t.is(shellNormalize('w\\ho\\am\\i'), 'whoami');
  t.is(shellNormalize('ca$@t'), 'cat');
  t.is(shellNormalize('plain words'), 'plain words');
});

test('normalizePath: ./, ../, //, backslashes; a climb above the root leaves its trace', (t) => {
  t.is(normalizePath('/a/./b//c/../d'), '/a/b/d');
  t.is(normalizePath('..\\..\\windows\\win.ini'), '/../../windows/win.ini');
  t.is(normalizePath('/static/../../etc/passwd'), '/../etc/passwd');
  t.is(normalizePath('/plain/path'), '/plain/path');
});

test('fullDecode: stacked encodings undone in a bounded number of rounds', (t) => {
  // URL-encoded HTML entities of a JS escape.
  t.is(fullDecode('%26%23x5c%3Bu003cscript%26gt%3B'), '<script>');
  t.is(fullDecode('%EF%BC%9Cscript%EF%BC%9E'), '<script>', 'URL-encoded full-width');
  t.is(fullDecode('%2527%2520or%25201%253D1'), "' or 1=1");
});

const pathish = fc.array(fc.constantFrom('a', 'b', '.', '..', '/', '//', '\\', ' ', '\t', '  ', '\u00a0', '\0', 'x.y'), { maxLength: 12 }).map((list) => list.join(''));

test('property: the shortcuts of normalizePath and compressWhitespace change no result', (t) => {
  fc.assert(fc.property(fc.oneof(pathish, fc.string()), (text) => normalizePath(text) === resolvePath(text)), { numRuns: 3000 });
  // eslint-disable-next-line no-control-regex
  const full = (text: string): string => text.replace(/[\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00a0]+/g, ' ');
  fc.assert(fc.property(fc.oneof(pathish, fc.string()), (text) => compressWhitespace(text) === full(text)), { numRuns: 3000 });
  t.is(normalizePath('/products/shoes'), '/products/shoes');
  t.is(compressWhitespace('a b'), 'a b');
});
