import { findPhoneNumbersInText, isSupportedCountry } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';

/**
 * Redaction of personal data in eval examples before anything is written, cached or sent to a
 * model (harvest and synthesize). It is a safety net, not a guarantee: it finds e-mail addresses,
 * phone numbers (libphonenumber's matcher with its full metadata: international numbers always,
 * national ones for one default region), payment card numbers (known brand prefixes, 13 to 19
 * digits, Luhn-checked, spaces or hyphens allowed between digits), IBANs (country length and
 * mod-97 checked), IPv4 and IPv6 addresses, and the values of the variables metadata.yaml marks
 * sensitive (`eval.sensitive_variables`), wherever those values recur in the example. Names,
 * street addresses, dates of birth and free-text identifiers are not recognised.
 *
 * Each value found becomes a placeholder naming its kind and its order of appearance, `<EMAIL_1>`,
 * the same placeholder for the same value throughout one example, so the example still reads as
 * a whole ("write to <EMAIL_1> ... sent to <EMAIL_1>"). The report counts by kind, never values.
 */

/** What redaction recognises. */
export type RedactionKind = 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'sensitive';

/** The kinds in report order. */
export const REDACTION_KINDS: readonly RedactionKind[] = ['sensitive', 'email', 'phone', 'card', 'iban', 'ip'];

/** How many values of each kind were replaced (occurrences), and in how many examples. Never the values. */
export interface RedactionReport {
  byKind: Record<RedactionKind, number>;
  /** Occurrences replaced, all kinds together. */
  total: number;
  /** Examples with at least one replacement. */
  examples: number;
}

/** Options of a redaction. */
export interface RedactionOptions {
  /** Variables whose whole value is replaced, and whose value is replaced wherever else it occurs (`eval.sensitive_variables`). */
  sensitiveVariables?: readonly string[];
  /**
   * The region national phone numbers are read for (ISO 3166 alpha-2, `eval.phone_region`);
   * numbers written with a `+` country code are found whatever it is. Default `US`.
   */
  phoneRegion?: string;
}

/** The default region for national phone numbers. */
export const DEFAULT_PHONE_REGION = 'US';

/** An empty report. */
export function emptyRedactionReport(): RedactionReport {
  return { byKind: { sensitive: 0, email: 0, phone: 0, card: 0, iban: 0, ip: 0 }, total: 0, examples: 0 };
}

/** Two reports added together. */
export function mergeRedactionReports(a: RedactionReport, b: RedactionReport): RedactionReport {
  const byKind = { ...a.byKind };
  for (const kind of REDACTION_KINDS) byKind[kind] += b.byKind[kind];
  return { byKind, total: a.total + b.total, examples: a.examples + b.examples };
}

/** One line for people: `3 e-mail addresses, 1 phone number in 2 examples`, or `nothing redacted`. */
export function describeRedactionReport(report: RedactionReport): string {
  const labels: Record<RedactionKind, [string, string]> = {
    sensitive: ['sensitive variable value', 'sensitive variable values'],
    email: ['e-mail address', 'e-mail addresses'],
    phone: ['phone number', 'phone numbers'],
    card: ['payment card number', 'payment card numbers'],
    iban: ['IBAN', 'IBANs'],
    ip: ['IP address', 'IP addresses'],
  };
  const parts = REDACTION_KINDS.filter((k) => report.byKind[k] > 0).map((k) => `${report.byKind[k]} ${labels[k][report.byKind[k] === 1 ? 0 : 1]}`);
  if (parts.length === 0) return 'nothing redacted';
  return `${parts.join(', ')} in ${report.examples} example${report.examples === 1 ? '' : 's'}`;
}

/** True when the string is an ISO 3166 alpha-2 region libphonenumber has numbering plans for. */
export function isPhoneRegion(region: string): boolean {
  return /^[A-Z]{2}$/.test(region) && isSupportedCountry(region);
}

/**
 * The redaction of one example: every string it holds goes through the same `ExampleRedactor`, so
 * a value gets one placeholder wherever it appears in the example. Create one per example.
 */
export class ExampleRedactor {
  private readonly placeholders = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  private readonly sensitive: { value: string; placeholder: string }[] = [];
  private readonly region: CountryCode;
  readonly counts: Record<RedactionKind, number> = { sensitive: 0, email: 0, phone: 0, card: 0, iban: 0, ip: 0 };

  constructor(private readonly options: RedactionOptions = {}) {
    const region = options.phoneRegion ?? DEFAULT_PHONE_REGION;
    // An unknown region would make the matcher throw on the first text: it is refused here, once.
    if (!isPhoneRegion(region)) throw new Error(`phone region "${region}" is not a region code libphonenumber knows (ISO 3166 alpha-2, e.g. US, GB, DE)`);
    this.region = region as CountryCode;
  }

  /** The example's inputs, redacted: sensitive variables replaced whole, every other string scanned. */
  redactInputs(inputs: Record<string, unknown>): Record<string, unknown> {
    const sensitiveNames = new Set(this.options.sensitiveVariables ?? []);
    // Register sensitive values first, so their occurrences in other variables and the reference are found too.
    for (const [name, value] of Object.entries(inputs)) {
      if (!sensitiveNames.has(name) || value === null || value === undefined || isPlaceholder(value)) continue;
      const placeholder = this.placeholderFor('sensitive', `${name}\u0000${typeof value === 'string' ? value : JSON.stringify(value)}`, labelOf(name));
      // Every string of a structured value stands for the same value: it shares the value's placeholder.
      for (const text of stringsOf(value)) this.registerSensitive(text, placeholder);
    }
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(inputs)) {
      if (sensitiveNames.has(name) && value !== null && value !== undefined && !isPlaceholder(value)) {
        out[name] = this.placeholderFor('sensitive', `${name}\u0000${typeof value === 'string' ? value : JSON.stringify(value)}`, labelOf(name));
        this.counts.sensitive += 1;
      } else out[name] = this.redactValue(value);
    }
    return out;
  }

  /** Any JSON value with its strings redacted (keys are kept). */
  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, this.redactValue(v)]));
    }
    return value;
  }

  /** A text with everything recognised replaced by placeholders. */
  redactText(text: string): string {
    let out = text;
    for (const s of this.sensitive) {
      if (!out.includes(s.value)) continue;
      const parts = out.split(s.value);
      this.counts.sensitive += parts.length - 1;
      out = parts.join(s.placeholder);
    }
    out = this.replaceMatches(out, 'email', findEmails);
    out = this.replaceMatches(out, 'iban', findIbans);
    out = this.replaceMatches(out, 'card', findCards);
    out = this.replaceMatches(out, 'ip', findIpAddresses);
    out = this.replaceMatches(out, 'phone', (t) => findPhones(t, this.region));
    return out;
  }

  /** The replacements made so far, as a report of one example (or none). */
  report(): RedactionReport {
    const total = REDACTION_KINDS.reduce((sum, k) => sum + this.counts[k], 0);
    return { byKind: { ...this.counts }, total, examples: total > 0 ? 1 : 0 };
  }

  private registerSensitive(value: string, placeholder: string): void {
    // A one-character value would replace that character everywhere: it is replaced where it stands whole only.
    if (value.length < 2 || this.sensitive.some((s) => s.value === value)) return;
    this.sensitive.push({ value, placeholder });
    // Longer values first, so a value containing a shorter one is replaced whole.
    this.sensitive.sort((a, b) => b.value.length - a.value.length);
  }

  private placeholderFor(kind: RedactionKind, key: string, label: string): string {
    const full = `${kind}\u0000${key}`;
    const known = this.placeholders.get(full);
    if (known) return known;
    const n = (this.counters.get(label) ?? 0) + 1;
    this.counters.set(label, n);
    const placeholder = `<${label}_${n}>`;
    this.placeholders.set(full, placeholder);
    return placeholder;
  }

  private replaceMatches(text: string, kind: Exclude<RedactionKind, 'sensitive'>, find: (text: string) => Match[]): string {
    const matches = find(text);
    if (matches.length === 0) return text;
    let out = '';
    let at = 0;
    for (const m of matches) {
      if (m.start < at) continue;
      out += text.slice(at, m.start) + this.placeholderFor(kind, m.key, KIND_LABELS[kind]);
      this.counts[kind] += 1;
      at = m.end;
    }
    return out + text.slice(at);
  }
}

/** A value that is one placeholder already (text redacted before, e.g. a model's case built from redacted examples). */
function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && /^<[A-Z0-9_]+_\d+>$/.test(value);
}

const KIND_LABELS: Record<Exclude<RedactionKind, 'sensitive'>, string> = { email: 'EMAIL', phone: 'PHONE', card: 'CARD', iban: 'IBAN', ip: 'IP' };

/** `customer_name` → `CUSTOMER_NAME`: the placeholder label of a sensitive variable. */
function labelOf(variable: string): string {
  const label = variable.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return label === '' ? 'SENSITIVE' : label;
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value !== null && typeof value === 'object') return Object.values(value as Record<string, unknown>).flatMap(stringsOf);
  return [];
}

/** One value found: where, and the normalised value that keys its placeholder. */
interface Match {
  start: number;
  end: number;
  key: string;
}

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g;

function findEmails(text: string): Match[] {
  if (!text.includes('@')) return [];
  return [...text.matchAll(EMAIL)].map((m) => ({ start: m.index, end: m.index + m[0].length, key: m[0].toLowerCase() }));
}

/** Digits with at most one space or hyphen between them, 13 to 19 digits, not inside a longer run of digits or a word. */
const CARD_CANDIDATE = /(?<![A-Za-z0-9_])\d(?:[ -]?\d){12,18}(?![A-Za-z0-9_]|[ -]\d)/g;

function findCards(text: string): Match[] {
  const out: Match[] = [];
  for (const m of text.matchAll(CARD_CANDIDATE)) {
    const raw = m[0];
    // One kind of separator, or none: `4111 1111-1111 1111` is not how a card is written.
    if (raw.includes(' ') && raw.includes('-')) continue;
    const digits = raw.replace(/[ -]/g, '');
    if (isCardNumber(digits)) out.push({ start: m.index, end: m.index + raw.length, key: digits });
  }
  return out;
}

/** A payment card number: a known brand's prefix and length, and the Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  return hasCardPrefix(digits) && luhnValid(digits);
}

function hasCardPrefix(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39 || p4 === 3095) return n >= 14 && n <= 19; // Diners Club
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

/** The Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** IBAN length by country (the SWIFT IBAN registry). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27,
  GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28,
  PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** A country code, two check digits, then letters and digits with optional single spaces (as IBANs are printed, in groups of four). */
const IBAN_CANDIDATE = /(?<![A-Za-z0-9])([A-Z]{2})(\d{2})((?: ?[A-Z0-9]){11,30})/g;

function findIbans(text: string): Match[] {
  const out: Match[] = [];
  for (const m of text.matchAll(IBAN_CANDIDATE)) {
    const length = IBAN_LENGTHS[m[1]];
    if (length === undefined) continue;
    // Take as many characters as the country's IBAN has, wherever the spaces fall.
    const raw = m[0];
    let count = 0;
    let end = 0;
    for (; end < raw.length && count < length; end++) if (raw[end] !== ' ') count++;
    if (count < length) continue;
    const after = text[m.index + end];
    if (after !== undefined && /[A-Za-z0-9]/.test(after)) continue;
    const compact = raw.slice(0, end).replace(/ /g, '');
    if (ibanValid(compact)) out.push({ start: m.index, end: m.index + end, key: compact });
  }
  return out;
}

/** ISO 13616 mod-97: the country code and check digits moved to the end, letters as 10..35, the number mod 97 is 1. */
export function ibanValid(compact: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact) || IBAN_LENGTHS[compact.slice(0, 2)] !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** Four octets, not part of a longer dotted run (`1.2.3.4.5` is a version, not an address). */
const IPV4 = new RegExp(`(?<![0-9A-Za-z_.])${OCTET}(?:\\.${OCTET}){3}(?![0-9A-Za-z_]|\\.\\d)`, 'g');
/** Runs of hex digits, colons and dots with at least two colons; validated (and trailing punctuation trimmed) by `findIpAddresses`. */
const IPV6_CANDIDATE = /(?<![0-9A-Za-z_:.])[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?(?![0-9A-Za-z_])/g;

function findIpAddresses(text: string): Match[] {
  const out: Match[] = [];
  for (const m of text.matchAll(IPV4)) out.push({ start: m.index, end: m.index + m[0].length, key: m[0] });
  if (text.includes(':')) {
    for (const m of text.matchAll(IPV6_CANDIDATE)) {
      let raw = m[0];
      // Sentence punctuation after an address (`… 2001:db8::1:` or `… ::1.`) is not part of it.
      if (!isIpv6(raw.replace(/%.*$/, '')) && /[^:][:.]$/.test(raw)) raw = raw.slice(0, -1);
      const address = raw.replace(/%.*$/, '');
      if (isIpv6(address)) out.push({ start: m.index, end: m.index + raw.length, key: address.toLowerCase() });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** RFC 4291 text forms: eight groups, or fewer with one `::`, optionally ending in a dotted IPv4 address. */
export function isIpv6(address: string): boolean {
  let groups = address;
  let extra = 0;
  const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (v4) {
    if (!new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`).test(v4[1])) return false;
    groups = address.slice(0, v4.index + 1) + '0';
    extra = 1;
  }
  const halves = groups.split('::');
  if (halves.length > 2) return false;
  const hex = /^[0-9A-Fa-f]{1,4}$/;
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  if (halves.length === 1) {
    const all = parts(halves[0]);
    return all.length === 8 && all.every((g) => hex.test(g));
  }
  const left = parts(halves[0]);
  const right = parts(halves[1]);
  if (![...left, ...right].every((g) => hex.test(g))) return false;
  // `::` stands for at least one group; a bare `::` or a lone group around it is too little to be an address in prose.
  return left.length + right.length + extra <= 7 && left.length + right.length >= 1;
}

function findPhones(text: string, region: CountryCode): Match[] {
  if (!/\d{2}/.test(text)) return [];
  const out: Match[] = [];
  for (const found of findPhoneNumbersInText(text, { defaultCountry: region })) {
    const before = text[found.startsAt - 1];
    const after = text[found.endsAt];
    // A number joined to a word or code (`ORD-2026-000123`, `#12345678901`, `v2026-555-0100`) is an identifier, not a phone.
    if (before !== undefined && /[A-Za-z0-9_#/-]/.test(before) && !(before === '-' && /\s/.test(text[found.startsAt - 2] ?? ' '))) continue;
    if (after !== undefined && /[A-Za-z0-9_-]/.test(after)) continue;
    out.push({ start: found.startsAt, end: found.endsAt, key: found.number.number });
  }
  return out;
}
