// The tokenizer test strings, by category (tests/tokenizer.test.mjs, tools/bench-tokenizer.mjs).
//
// TEXT_CASES are JavaScript strings: what node-llama-cpp (and so llama.cpp) can be given. A lone surrogate in a
// JS string reaches llama.cpp as U+FFFD's bytes (Node's UTF-8 conversion), as it does ringlm (TextEncoder).
// BYTE_CASES are byte sequences that are not valid UTF-8, which no JS string can carry; they go to ringlm as
// Uint8Arrays and their expected ids were produced by llama.cpp itself (see the test file).

/** A deterministic word of `n` letters. */
function pseudoWord(n, seed = 7) {
  let s = seed >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out += 'etaoinshrdlucmfwypvbgkjqxz'[(s >>> 16) % 26];
  }
  return out;
}

const prose = [
  'Hello world',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  "I'm sure they're right; we've done what we'd said we'll do, hasn't he?",
  "DON'T SHOUT. Y'ALL'RE FINE. It'S OK'D",
  '"Quoted," she said, \'and single-quoted.\'',
  'Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal, thank you very much.',
  'A sentence with an em dash — and an en dash – and an ellipsis…',
  'Curly “double” and ‘single’ quotes, «guillemets», and „low“ quotes.',
  'e.g. i.e. etc. vs. U.S.A. Ph.D.',
  'Semicolons; colons: commas, periods. Question? Exclamation! Interrobang‽',
  'hello hello hello hello hello hello hello hello',
  'HELLO World hElLo wOrLd',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'Tokenization is the first step; detokenization is the last.',
  'café naïve résumé coöperate façade jalapeño',
  'The year 1984 was followed by 1985, and 2001 by 2002.',
  'In 2023, roughly 8,045,311,447 people lived on Earth.',
  'Email me at someone@example.com or visit https://example.org/path?q=1&r=two#frag',
  '@user #hashtag $100 50% 3*4=12 a+b<c>d ^ ~ | \\ `tick`',
  'A\nmulti-line\nparagraph of text\nwith line breaks.',
  'First paragraph.\n\nSecond paragraph after a blank line.\n\n\nThird after two.',
  'Once upon a time, in a land far, far away, there lived a tokenizer who loved byte pairs above all else.',
  'She sells sea shells by the sea shore; the shells she sells are surely seashells.',
  'What\'s the "best" way—if any—to (carefully) [bracket] {everything}?',
  'ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS #!',
  'lowercase sentence without punctuation at all',
  'Mixed123Alpha456Numeric789',
  'snake_case_identifier and camelCaseIdentifier and PascalCase and kebab-case',
  "HTTPServer iPhone McDonald's XMLHttpRequest ÀBcd ÉTÉ été xÀy ÀÉ WE'RE they'VE",
];

const code = [
  'function add(a, b) {\n  return a + b;\n}\n',
  'const x = [1, 2, 3].map((n) => n * 2);',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  '#include <stdio.h>\n\nint main(void) {\n\tprintf("hello\\n");\n\treturn 0;\n}\n',
  'for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }',
  '{"name": "ringlm", "version": "0.1.0", "tags": ["llm", "wasm"], "ok": true, "n": null}',
  '<html>\n  <body class="main">\n    <p>Hello &amp; welcome</p>\n  </body>\n</html>',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;',
  'git commit -m "fix: handle empty input" && git push origin main',
  'ls -la | grep "\\.txt$" | awk \'{print $9}\' > out.log 2>&1',
  '/^(?:[a-z0-9!#$%&\'*+/=?^_`{|}~-]+)@example\\.com$/i',
  'x=1;y=2;z=x+y;print(z)',
  'if (a && b || !c) { return a ? b : c; }',
  'template <typename T>\nstruct Box { T value; };\n',
  '    indented with four spaces\n        and eight\n',
  '\tindented with a tab\n\t\tand two tabs\n',
  'fn main() { let v: Vec<u8> = vec![0xde, 0xad, 0xbe, 0xef]; }',
  'print(f"{name!r:>10} = {value:.3f}")',
  '// comment\n/* block\n   comment */\n# shell comment',
  'key: value\nlist:\n  - one\n  - two\nnested:\n  deep: true\n',
  '0x7fffffff 0b1010 0o777 1e-9 3.14159 -0.0 +42',
  'a==b!=c<=d>=e->f=>g::h...i',
  '\\\\server\\share\\path\\file.txt C:\\Windows\\System32',
  'arr[i][j] = matrix[j][i]; // transpose',
  '```js\nconsole.log("fenced");\n```',
];

const whitespace = [
  ' ', '  ', '   ', '    ', '     ', '        ', ' '.repeat(16), ' '.repeat(17), ' '.repeat(33), ' '.repeat(100),
  '\t', '\t\t', '\t\t\t\t', '\n', '\n\n', '\n\n\n', '\r\n', '\r\n\r\n', '\r', ' \n', '\n ', ' \n ', '\t\n\t',
  '  \n\n  ', ' \t \t ', ' leading space', '  two leading spaces', 'trailing space ', 'trailing spaces   ',
  '   both sides   ', 'word  double  spaced', 'word   triple   spaced', 'tab\tseparated\tvalues', 'line\n',
  '\nline', 'a \n b', 'a\t \tb', 'end with newline\n', 'ends\n\n', 'x \r\n y', '\u00a0nbsp\u00a0here\u00a0',
  'en\u2002space em\u2003space thin\u2009space', 'ideographic\u3000space', 'line\u2028separator\u2029paragraph',
  'next\u0085line', 'zero\u200bwidth\u200bspace', '\ufeffbyte order mark', 'narrow\u202fnbsp', 'ogham\u1680space',
  '\u000b\u000c vertical tab and form feed',
];

const digits = [
  '0', '7', '42', '123', '1234', '12345', '123456', '1234567', '12345678901234567890', '3.14159265358979',
  '1,000,000', '1 000 000', '+1 (555) 123-4567', '2024-01-31T23:59:59Z', '10:30pm', '$1,234.56', '€99,99', '50%',
  '1st 2nd 3rd 4th 11th 22nd 103rd', 'v1.2.3-beta.4', 'x86_64 arm64 i386', '٠١٢٣٤٥٦٧٨٩', '０１２３４５６７８９',
  '१२३४५', 'Ⅷ ⅻ ½ ¾ ² ³ ₁₂', '1e10 1E-5 6.022e23', '0000000', '99 bottles of beer on the wall, 99 bottles of beer.',
];

const cjk = [
  '你好', '你好，世界！', '中文分词是一个有趣的问题。', '北京市朝阳区建国门外大街1号', '我爱自然语言处理',
  'こんにちは', 'こんにちは世界', '東京は日本の首都です。', 'カタカナとひらがなと漢字', 'ﾊﾝｶｸｶﾀｶﾅ',
  '안녕하세요', '안녕하세요, 세계!', '한국어 토큰화 테스트입니다.', 'Mixed 中文 and English 与日本語 and 한국어',
  '「引用」『二重』【括弧】', '𠀀𠀁𪚥 (CJK extension B)', '\u{2ebf0}\u{2ebf1} (CJK extension I)',
  '中文 123 数字', '全角ＡＢＣ　半角ABC', '漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字',
];

const emoji = [
  '😀', '😀😃😄😁', 'I ❤️ NY', '👍🏽', '👋🏻👋🏼👋🏽👋🏾👋🏿', '👨‍👩‍👧‍👦', '👩‍💻 coding', '🏳️‍🌈', '🏴‍☠️',
  '🇺🇸', '🇯🇵🇰🇷🇨🇳🇩🇪🇫🇷', 'flags: 🇬🇧 🇮🇳 🇧🇷', '1️⃣2️⃣3️⃣', '#️⃣ *️⃣', '☺︎ ☺️', '🧑🏿‍🚀',
  '❤️‍🔥', 'text😀text', 'emoji at end 🎉', '🎉 emoji at start', '🐍🦀🐹☕', '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland',
];

const marks = [
  'e\u0301', 'cafe\u0301', 'n\u0303o', 'a\u0300\u0301\u0302\u0303\u0304', 'Tiếng Việt có dấu',
  'Z̴̧̛̖̖̰̍̈́͗a̵̛̱̦̓l̸̨̰̈́g̷̳̈́̃o̵̱͐', 'नमस्ते दुनिया', 'हिन्दी भाषा', 'ภาษาไทย สวัสดี', 'ສະບາຍດີ',
  'ÅÄÖ åäö', 'Å (decomposed A\u030a)', 'ﬁ ﬂ ligatures', 'ǅ ǈ ǋ titlecase', 'ß ẞ', 'İstanbul ıi',
];

const rtl = [
  'مرحبا بالعالم', 'السلام عليكم ورحمة الله', 'שלום עולם', 'עברית: בדיקה 123', 'Hello مرحبا world',
  'mixed עברית and English', '\u200fRLM mark\u200e LRM mark', 'فارسی: سلام دنیا', 'اردو زبان', '\u202eright-to-left override\u202c',
  'العربية ١٢٣', 'ܫܠܡܐ ܥܠܡܐ',
];

const scripts = [
  'Привет, мир!', 'Съешь же ещё этих мягких французских булок', 'Γειά σου Κόσμε', 'Ελληνικά κείμενα',
  'გამარჯობა', 'Բարեւ աշխարհ', 'ሰላም ለዓለም', 'Ꭳ Ꮟ Ꮣ Cherokee', 'ᚠᛇᚻ᛫ᛒᛦᚦ runes', 'ㄅㄆㄇㄈ bopomofo',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝓜𝓪𝓽𝓱', '∀x∈ℝ: x²≥0 ⇒ √(x²)=|x|', '♠♥♦♣ ♩♪♫♬', '→ ← ↑ ↓ ⇄ ⇐', '© ® ™ § ¶ † ‡ • °',
  'ⓐⓑⓒ ⒜⒝⒞', 'µ ʔ ƻ ǅ ꙮ ℌ Ωmega ꭰ 𐐷', 'ࠀࠁ Samaritan ᄀᄁ jamo ㄱ', '‘quote’ “双” 。、 ｢halfwidth｣', '文字\u3000\u3000',
  ' x\u2003\u2003', '\u0000null\u0001ctl\u007fdel', '\u0378\u0379 unassigned', '\ue000\uf8ff private use', 'lone \ud800 surrogate',
];

const special = [
  '<s>', '</s>', '<unk>', '<s>Hello</s>', 'Hello <s> world', '<s><s></s></s>', '<<s>>', '< s >', '<s', 's>',
  '<|endoftext|>', 'end<|endoftext|>start', '<|endoftext|><|endoftext|>', '<|endoftext', 'endoftext|>',
  '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n', '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>',
  '<tool_call>{"name": "f"}</tool_call>', 'x<tool_call>y', '[INST] question [/INST]', '<0x41>', '<0xFF>', '▁', '▁▁hello',
  'Ġhello', '<|eot_id|>', '<|im_end|>', '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n',
];

const edge = [
  '', 'a', 'A', '.', "'", "'s", "'S", "'ll", "x'", '\'\'\'', '""', '...', '!!!', '???', '---', '___', '***',
  'a'.repeat(10000), pseudoWord(10000), 'ab'.repeat(5000), '😀'.repeat(200), '中'.repeat(1000),
  (' ' + 'word').repeat(500), '\n'.repeat(64), '.'.repeat(300), '0'.repeat(300),
];

export const TEXT_CASES = [
  ...prose.map((text) => ({ category: 'prose', text })),
  ...code.map((text) => ({ category: 'code', text })),
  ...whitespace.map((text) => ({ category: 'whitespace', text })),
  ...digits.map((text) => ({ category: 'digits', text })),
  ...cjk.map((text) => ({ category: 'cjk', text })),
  ...emoji.map((text) => ({ category: 'emoji', text })),
  ...marks.map((text) => ({ category: 'combining', text })),
  ...rtl.map((text) => ({ category: 'rtl', text })),
  ...scripts.map((text) => ({ category: 'scripts', text })),
  ...special.map((text) => ({ category: 'special', text })),
  ...edge.map((text) => ({ category: 'edge', text })),
];

const bytes = (...parts) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

/** Invalid UTF-8, as bytes. `name` describes the case. */
export const BYTE_CASES = [
  { name: 'lone continuation byte', bytes: bytes([0x80]) },
  { name: 'byte 0xFF', bytes: bytes('a', [0xff], 'b') },
  { name: 'byte 0xFE then text', bytes: bytes([0xfe], 'hello') },
  { name: 'truncated 2-byte sequence', bytes: bytes('x', [0xc3]) },
  { name: 'truncated 3-byte sequence', bytes: bytes('x', [0xe4, 0xb8]) },
  { name: 'truncated 4-byte sequence', bytes: bytes('x', [0xf0, 0x9f, 0x98]) },
  { name: 'truncated sequence mid-text', bytes: bytes('ab', [0xe4, 0xb8], 'cd') },
  { name: 'overlong NUL', bytes: bytes([0xc0, 0x80], 'z') },
  { name: 'overlong slash', bytes: bytes([0xe0, 0x80, 0xaf]) },
  { name: 'UTF-16 surrogate encoded', bytes: bytes([0xed, 0xa0, 0x80], ' ', [0xed, 0xbf, 0xbf]) },
  { name: 'five-byte lead', bytes: bytes([0xf8, 0x88, 0x80, 0x80, 0x80]) },
  { name: 'Latin-1 text', bytes: bytes('caf', [0xe9], ' na', [0xef], 've') },
  { name: 'continuation bytes run', bytes: bytes([0x80, 0x81, 0x82, 0xbf]) },
  { name: 'space then invalid', bytes: bytes(' ', [0xff], ' ', [0xc3]) },
  { name: 'invalid between emoji', bytes: bytes([0xf0, 0x9f, 0x98, 0x80, 0xff, 0xf0, 0x9f, 0x98, 0x80]) },
  { name: 'all high bytes', bytes: Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i) },
];
