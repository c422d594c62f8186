/**
 * The stand-in's deterministic answers (see `server.ts`): a demo server, not a model.
 *
 * The rules of {@link demoAnswer}:
 *
 * **Judge requests.** A request is a judge request when it contains both a
 * `<reference>…</reference>` block and a `<candidate>…</candidate>` block (tag names are
 * case-insensitive). Each block is looked for in the user messages first, then in the system
 * prompt; when a tag pair occurs more than once in the same place (a rubric that describes
 * the tags before using them), the last block wins. The answer is a JSON object
 * `{"correct": bool, "score": 1..5, "reason": string}` where, with F1 the token-set F1
 * between candidate and reference (lower-cased words, crude suffix stemming, common English
 * stop words dropped unless that leaves nothing), `correct = F1 >= 0.25` and
 * `score = min(5, 1 + round(8 * F1))`. A hash of the request decides whether the object is wrapped in
 * a fenced ```json block, so clients exercise tolerant parsing.
 *
 * **Label requests.** When the system prompt lists labels (`Labels: a, b, c`,
 * `categories: a, b or c`, `one of: a | b | c`, a bare `one of a, b or c` (it needs the "or"
 * or a "|", so prose like "one of the best writers" is not a list), or such an introduction ending its line,
 * followed by `- label: description` bullets), the answer is exactly one of those labels:
 * the one whose words, plus the words of its description in the system prompt, occur most
 * often in the user message. Ties go to the earlier label; when nothing matches, a label
 * named other/unknown/none/general/misc if listed, else the first.
 *
 * **Other task requests** are answered extractively from the last user message's document:
 * the content of its first `<document>` (or `<text>`, `<article>`, `<email>`, `<ticket>`,
 * `<transcript>`, `<context>`, `<input>`) block, else the message without its instruction
 * lines (lines ending in `:`, and a leading instruction paragraph). The answer is the N most
 * salient sentences in document order, where:
 * - N comes from the system prompt, else the user message: "three sentences",
 *   "2 sentences", "a single sentence", "in one sentence"; "N bullet points" gives N lines
 *   starting with `- `; by default N = 2;
 * - salience is twice the number of the system prompt's topical words the sentence contains
 *   ("Focus on refunds and dates" favours sentences about refunds and dates) plus the mean
 *   document frequency of its words; ties go to the earlier sentence;
 * - "at most / no more than / under / up to N words" in the system prompt truncates the
 *   answer to N words.
 *
 * **Synthesis requests** (`prompt-ci synthesize`): when the last user message holds a
 * `<synthesis_request>` block with a JSON object `{"variables": [...], "count": N, "examples":
 * [{"id", "inputs", "reference"}...]}`, the answer is `{"cases": [...]}` with N cases, case i built
 * from example i mod the number of examples: each string variable of more than three words gets
 * `Case i+1: ` followed by the example's words in an order a hash of (i, variable) decides, shorter
 * ones keep the example's value; the reference is the example's with ` (case i+1)` after it; and
 * `exercises` names the example. With N of 2 or more, two faulty cases follow: one lacking the
 * last variable, and one repeating the first example's inputs verbatim, so clients exercise their
 * validation and duplicate checks.
 *
 * An assistant prefill in the last message is honoured: when the answer starts with it, the
 * answer continues from it.
 */
import { createHash } from 'node:crypto';
import { isRecord, textOf } from './requestValidation';

// ---------------------------------------------------------------------------------------------
// The deterministic answerer

/**
 * The stand-in's default answer to a Messages request body: a judge verdict for a judge
 * request, a label for a label request, else extracted sentences. Deterministic: the same
 * body always gets the same text. The rules are at the top of this file.
 */
export function demoAnswer(body: unknown): string {
  const request = isRecord(body) ? body : {};
  const messages = (Array.isArray(request.messages) ? (request.messages as unknown[]) : []).filter(isRecord);
  const system = textOf(request.system);
  const userTexts = messages.filter((m) => m.role === 'user').map((m) => textOf(m.content));
  const lastUser = userTexts.length > 0 ? userTexts[userTexts.length - 1] : '';
  const last = messages[messages.length - 1];
  const prefill = last?.role === 'assistant' ? textOf(last.content) : '';

  const synthesis = synthesisAnswer(lastUser);
  if (synthesis !== undefined) return synthesis;
  const judged = judgeAnswer(userTexts.join('\n'), system, hashOf(body));
  const text = judged ?? labelAnswer(system, lastUser) ?? extractiveAnswer(system, lastUser);
  return prefill !== '' && text.startsWith(prefill) ? text.slice(prefill.length) : text;
}

function synthesisAnswer(user: string): string | undefined {
  const block = lastBlock(user, 'synthesis_request');
  if (block === undefined) return undefined;
  let request: { variables?: unknown; count?: unknown; examples?: unknown };
  try {
    request = JSON.parse(block) as typeof request;
  } catch {
    return JSON.stringify({ cases: [] });
  }
  const variables = Array.isArray(request.variables) ? request.variables.filter((v): v is string => typeof v === 'string') : [];
  const examples = (Array.isArray(request.examples) ? request.examples : []).filter(isRecord);
  const count = typeof request.count === 'number' ? request.count : 1;
  if (examples.length === 0) return JSON.stringify({ cases: [] });
  const cases: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const example = examples[i % examples.length];
    const inputs = isRecord(example.inputs) ? example.inputs : {};
    const made: Record<string, unknown> = {};
    for (const v of variables) {
      const value = inputs[v];
      const words = typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
      made[v] = words.length > 3 ? `Case ${i + 1}: ${reorder(words, `${i}:${v}`).join(' ')}` : (value ?? `value ${i + 1}`);
    }
    cases.push({ inputs: made, reference: `${typeof example.reference === 'string' ? example.reference : ''} (case ${i + 1})`, exercises: [example.id] });
  }
  if (count >= 2) {
    const first = isRecord(examples[0].inputs) ? examples[0].inputs : {};
    cases.push({ inputs: Object.fromEntries(variables.slice(0, -1).map((v) => [v, first[v] ?? 'x'])), reference: 'lacks a variable', exercises: [examples[0].id] });
    cases.push({ inputs: first, reference: 'repeats the first example', exercises: [examples[0].id] });
  }
  return JSON.stringify({ cases });
}

/** The words in an order the key's hash decides (a deterministic shuffle). */
function reorder(words: string[], key: string): string[] {
  return words
    .map((w, i) => ({ w, k: createHash('sha256').update(`${key}:${i}`).digest().readUInt32BE(0) }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.w);
}

function hashOf(value: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(value) ?? '').digest();
}

function lastBlock(text: string, tag: string): string | undefined {
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'gi');
  let found: string | undefined;
  for (const match of text.matchAll(pattern)) found = match[1];
  return found;
}

/**
 * Word overlap from which the demo judge calls a candidate correct. An extractive answer shares about
 * a third of its words with a hand-written summary of the same ticket; 0.25 makes the bundled example
 * suites pass most examples, as a reasonable prompt would with a real judge.
 */
export const JUDGE_PASS_F1 = 0.25;

function judgeAnswer(user: string, system: string, hash: Buffer): string | undefined {
  // The user messages carry the example; a system prompt may only describe the tags.
  const reference = lastBlock(user, 'reference') ?? lastBlock(system, 'reference');
  const candidate = lastBlock(user, 'candidate') ?? lastBlock(system, 'candidate');
  if (reference === undefined || candidate === undefined) return undefined;
  const f1 = tokenSetF1(candidate, reference);
  const verdict = {
    correct: f1 >= JUDGE_PASS_F1,
    score: Math.min(5, 1 + Math.round(8 * f1)),
    reason: `Token-set F1 between candidate and reference is ${f1.toFixed(2)}.`,
  };
  const json = JSON.stringify(verdict);
  return hash[0] % 2 === 0 ? json : '```json\n' + JSON.stringify(verdict, null, 2) + '\n```';
}

function tokenSetF1(candidate: string, reference: string): number {
  let c = new Set(words(candidate).map(stem));
  let r = new Set(words(reference).map(stem));
  const cContent = new Set([...c].filter((t) => !STOPWORDS.has(t)));
  const rContent = new Set([...r].filter((t) => !STOPWORDS.has(t)));
  if (cContent.size > 0 && rContent.size > 0) {
    c = cContent;
    r = rContent;
  }
  if (c.size === 0 && r.size === 0) return 1;
  if (c.size === 0 || r.size === 0) return 0;
  let common = 0;
  for (const t of c) if (r.has(t)) common += 1;
  if (common === 0) return 0;
  const precision = common / c.size;
  const recall = common / r.size;
  return (2 * precision * recall) / (precision + recall);
}

interface Label {
  name: string;
  keywords: Set<string>;
}

const LABEL_INTRO =
  /\b(?:one of(?: the following| these)?(?: labels| categories| classes)?|labels?|categories|category|classes)\s*(?:are|is)?\s*:\s*([^\n]*)$/gim;
const ONE_OF_INLINE = /\bone of\s+([^\n:]*)$/gim;
const BULLET = /^\s*(?:[-*\u2022]|\d+[.)])\s+(.*)$/;
const FALLBACK_LABELS = new Set(['other', 'unknown', 'none', 'general', 'misc']);

function cleanLabel(item: string): string {
  return item.trim().replace(/^[`"'*_]+|[`"'*_.;]+$/g, '').trim();
}

function splitLabelList(list: string): string[] {
  const sentence = list.split(/[.!?](?:\s|$)/)[0];
  return sentence
    .split(/,|\|| or |\/|;/)
    .map((s) => cleanLabel(s.replace(/^\s*(?:or|and)\s+/, '')))
    .filter((s) => s !== '' && s.split(/\s+/).length <= 4 && s.length <= 40);
}

/** Reads the label list from a system prompt, or undefined when there is none. */
function readLabels(system: string): Label[] | undefined {
  const lines = system.split(/\r?\n/);
  let names: string[] = [];
  const descriptions = new Map<string, string>();

  for (let i = 0; i < lines.length && names.length < 2; i++) {
    const line = lines[i];
    LABEL_INTRO.lastIndex = 0;
    ONE_OF_INLINE.lastIndex = 0;
    const intro = LABEL_INTRO.exec(line) ?? ONE_OF_INLINE.exec(line);
    if (!intro) continue;
    const inline = intro[1].trim();
    if (inline !== '') {
      // A bare "one of ..." is a list only when it reads like one: "one of billing, technical or other".
      const isBareOneOf = intro[0].trimStart().toLowerCase().startsWith('one of') && !intro[0].includes(':');
      if (isBareOneOf && !/ or |\|/.test(inline)) continue;
      names = splitLabelList(inline);
      continue;
    }
    // The list follows as bullets: "- billing: invoices, charges, refunds".
    names = [];
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j].trim() === '') {
        if (names.length === 0) continue;
        break;
      }
      const bullet = BULLET.exec(lines[j]);
      if (!bullet) {
        // An indented line continues the previous bullet's description.
        const last = names[names.length - 1];
        if (last !== undefined && /^\s+\S/.test(lines[j])) {
          descriptions.set(last, `${descriptions.get(last) ?? ''} ${lines[j].trim()}`);
          continue;
        }
        break;
      }
      const [head, ...rest] = bullet[1].split(/\s*(?::|\u2014|\u2013| - |=)\s*/);
      const name = cleanLabel(head);
      if (name === '') continue;
      names.push(name);
      if (rest.length > 0) descriptions.set(name, rest.join(' '));
    }
  }
  if (names.length < 2) return undefined;

  // Descriptions given elsewhere, as "billing: questions about invoices".
  for (const line of lines) {
    const bullet = BULLET.exec(line);
    const content = bullet ? bullet[1] : line;
    for (const name of names) {
      const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const match = new RegExp(`^\\s*[\`"'*_]*${escaped}[\`"'*_]*\\s*(?::|\\u2014|\\u2013| - |=)\\s*(.+)$`, 'i').exec(content);
      if (match && !descriptions.has(name)) descriptions.set(name, match[1]);
    }
  }

  return names.map((name) => ({
    name,
    keywords: new Set(
      [...words(name), ...words(descriptions.get(name) ?? '')].map(stem).filter((t) => !STOPWORDS.has(t)),
    ),
  }));
}

function labelAnswer(system: string, user: string): string | undefined {
  const labels = readLabels(system);
  if (!labels) return undefined;
  const tokens = words(user).map(stem);
  let best: Label | undefined;
  let bestScore = 0;
  for (const label of labels) {
    let score = 0;
    for (const t of tokens) if (label.keywords.has(t)) score += 1;
    if (score > bestScore) {
      best = label;
      bestScore = score;
    }
  }
  const fallback = labels.find((l) => FALLBACK_LABELS.has(l.name.toLowerCase()));
  const name = (best ?? fallback ?? labels[0]).name;
  // A prompt that shows the answer as a JSON object (`{"label": "billing"}`) gets one back.
  const jsonKey = /\{\s*"([A-Za-z_][\w-]*)"\s*:\s*"[^"]*"\s*\}/.exec(system)?.[1];
  return jsonKey ? JSON.stringify({ [jsonKey]: name }) : name;
}

const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, single: 1, a: 1,
};
const COUNT = '(\\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a single|single|a)';
const SENTENCE_COUNT = new RegExp(`\\b${COUNT}\\s+(?:(?:short|concise|brief|complete|full|clear|plain)\\s+)?sentences?\\b`, 'i');
const BULLET_COUNT = new RegExp(`\\b${COUNT}\\s+(?:(?:short|concise|brief)\\s+)?bullet(?:\\s+point)?s?\\b`, 'i');
const WORD_LIMIT = new RegExp(`\\b(?:at most|no more than|under|fewer than|less than|up to|maximum of|max\\.?)\\s+${COUNT}\\s+words\\b`, 'i');
const DOCUMENT_TAG = /<(document|text|article|email|ticket|transcript|context|input)>([\s\S]*?)<\/\1>/i;
const INSTRUCTION_START = /^\s*(?:please\s+)?(?:summari[sz]e|classify|categori[sz]e|read|write|given|using|answer|respond|extract|translate|rewrite|you are|here is|below is|the following)\b/i;
/** Words that say what to do rather than what to look for; they don't steer sentence choice. */
const INSTRUCTION_WORDS = new Set(
  [
    'summarise', 'summarize', 'summary', 'sentence', 'sentences', 'document', 'text', 'write', 'concise', 'brief',
    'clear', 'plain', 'short', 'user', 'customer', 'reader', 'following', 'given', 'assistant', 'helpful', 'answer',
    'respond', 'response', 'reply', 'output', 'return', 'words', 'word', 'bullet', 'bullets', 'point', 'points',
    'most', 'important', 'key', 'main', 'only', 'use', 'keep', 'make', 'sure', 'include', 'focus', 'mention',
    'language', 'tone', 'style', 'format', 'markdown', 'one', 'two', 'three', 'four', 'five', 'single',
  ].map(stem),
);

function countOf(word: string): number {
  const lower = word.toLowerCase();
  if (/^\d+$/.test(lower)) return Number(lower);
  return NUMBER_WORDS[lower.replace(/^a /, '')] ?? 1;
}

/** The document part of a user message: a tagged block, else the text without its instruction lines. */
function documentOf(user: string): string {
  const tagged = DOCUMENT_TAG.exec(user);
  if (tagged) return tagged[2];
  const paragraphs = user.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  if (paragraphs.length > 1 && (INSTRUCTION_START.test(paragraphs[0]) || paragraphs[0].trim().endsWith(':'))) {
    paragraphs.shift();
  }
  return paragraphs
    .join('\n\n')
    .split(/\r?\n/)
    .filter((line) => !line.trim().endsWith(':'))
    .join('\n');
}

function sentencesOf(document: string): string[] {
  const sentences: string[] = [];
  for (const line of document.split(/\r?\n/)) {
    const text = line.replace(BULLET, '$1').trim();
    if (text === '') continue;
    for (const s of text.split(/(?<=[.!?])\s+(?=["'(\[]?[\p{Lu}\p{N}])/u)) {
      if (s.trim() !== '') sentences.push(s.trim());
    }
  }
  return sentences;
}

function extractiveAnswer(system: string, user: string): string {
  const sentences = sentencesOf(documentOf(user));
  if (sentences.length === 0) return 'There is no document to work from.';

  const bulletMatch = BULLET_COUNT.exec(system) ?? BULLET_COUNT.exec(user);
  const sentenceMatch = SENTENCE_COUNT.exec(system) ?? SENTENCE_COUNT.exec(user);
  const count = bulletMatch ? countOf(bulletMatch[1]) : sentenceMatch ? countOf(sentenceMatch[1]) : 2;

  const frequency = new Map<string, number>();
  const sentenceTokens = sentences.map((s) => words(s).map(stem).filter((t) => !STOPWORDS.has(t)));
  for (const tokens of sentenceTokens) for (const t of tokens) frequency.set(t, (frequency.get(t) ?? 0) + 1);
  const focus = new Set(
    words(system)
      .map(stem)
      .filter((t) => !STOPWORDS.has(t) && !INSTRUCTION_WORDS.has(t)),
  );

  const ranked = sentences
    .map((sentence, position) => {
      const tokens = sentenceTokens[position];
      const distinct = new Set(tokens);
      let hits = 0;
      for (const t of distinct) if (focus.has(t)) hits += 1;
      const meanFrequency = tokens.length === 0 ? 0 : tokens.reduce((sum, t) => sum + (frequency.get(t) ?? 0), 0) / tokens.length;
      return { sentence, position, score: 2 * hits + meanFrequency };
    })
    .sort((a, b) => b.score - a.score || a.position - b.position)
    .slice(0, Math.max(1, count))
    .sort((a, b) => a.position - b.position)
    .map((r) => r.sentence);

  let text = bulletMatch ? ranked.map((s) => `- ${s}`).join('\n') : ranked.join(' ');
  const limit = WORD_LIMIT.exec(system);
  if (limit) {
    const max = countOf(limit[1]);
    const parts = text.split(/(\s+)/);
    let seen = 0;
    let cut = parts.length;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].trim() !== '' && ++seen > max) {
        cut = i;
        break;
      }
    }
    text = parts.slice(0, cut).join('').trimEnd();
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Words

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
}

/** A crude suffix stripper: enough for "refunds", "refunded" and "refunding" to meet. */
function stem(word: string): string {
  for (const suffix of ['ing', 'ed', 'es', 's', 'ly']) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) {
      const base = word.slice(0, -suffix.length);
      // "stopped" -> "stop", but "billing" -> "bill" and "passes" -> "pass" keep their double letter.
      const last = base[base.length - 1];
      return base.length > 3 && last === base[base.length - 2] && !'lsz'.includes(last) ? base.slice(0, -1) : base;
    }
  }
  // "charge" meets "charges" and "charged".
  return word.length > 4 && word.endsWith('e') ? word.slice(0, -1) : word;
}

const STOPWORDS = new Set(
  [
    'a', 'an', 'the', 'and', 'or', 'but', 'if', 'then', 'of', 'to', 'in', 'on', 'at', 'by', 'for', 'with', 'from',
    'as', 'is', 'are', 'was', 'were', 'be', 'been', 'being', 'it', 'its', "it's", 'this', 'that', 'these', 'those',
    'i', 'you', 'he', 'she', 'we', 'they', 'me', 'him', 'her', 'us', 'them', 'my', 'your', 'his', 'our', 'their',
    'do', 'does', 'did', 'have', 'has', 'had', 'not', 'no', 'so', 'than', 'too', 'very', 'can', 'will', 'would',
    'should', 'could', 'may', 'might', 'must', 'shall', 'about', 'into', 'over', 'after', 'before', 'also', 'there',
    'here', 'what', 'which', 'who', 'whom', 'when', 'where', 'why', 'how', 'all', 'any', 'each', 'some', 'such',
    'only', 'own', 'same', 'just', 'up', 'out', 'off', 'again', 'more', 'most', 'other', 'both', 'few', 'nor',
  ].map(stem),
);
