import { isValidPhoneNumber } from 'libphonenumber-js/max';

/**
 * Seeded generators of personal data in the forms people write it, and of look-alikes that
 * redaction must leave alone, for the property tests of redaction and of the harvest path.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same documents on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
const digits = (rng: Rng, n: number): string => Array.from({ length: n }, () => String(int(rng, 0, 9))).join('');

/** A planted value: its kind and the exact text planted. */
export interface Planted {
  kind: 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'sensitive';
  text: string;
}

export function randomEmail(rng: Rng): string {
  const local = pick(rng, ['ada', 'j.smith', 'mary_o', 'x', 'li.wei+billing', 'o-brien']) + digits(rng, int(rng, 0, 3));
  const domain = pick(rng, ['example.com', 'mail.example.org', 'corp.example.co.uk', 'example.io']);
  return `${local}@${domain}`;
}

/** A phone number libphonenumber's full metadata calls valid, written as people write it. */
export function randomPhone(rng: Rng): string {
  for (;;) {
    const form = int(rng, 0, 4);
    let text: string;
    if (form === 0) text = `(${pick(rng, ['212', '415', '617', '312', '206'])}) ${int(rng, 200, 999)}-${digits(rng, 4)}`;
    else if (form === 1) text = `+1 ${pick(rng, ['212', '415', '617', '312', '206'])} ${int(rng, 200, 999)} ${digits(rng, 4)}`;
    else if (form === 2) text = `+44 20 ${int(rng, 7000, 8999)} ${digits(rng, 4)}`;
    else if (form === 3) text = `+44 7${int(rng, 400, 999)} ${digits(rng, 6)}`;
    else text = `+49 30 ${int(rng, 20000000, 99999999)}`;
    if (isValidPhoneNumber(text, 'US')) return text;
  }
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A Luhn-valid card number of a real brand's prefix and length, grouped as printed (or not). */
export function randomCard(rng: Rng): string {
  const [prefix, length] = pick(rng, [['4', 16], ['51', 16], ['55', 16], ['2221', 16], ['34', 15], ['37', 15], ['6011', 16], ['3530', 16], ['3566', 16]] as const);
  const body = prefix + digits(rng, length - prefix.length - 1);
  const number = body + luhnDigit(body);
  const sep = pick(rng, ['', ' ', '-']);
  if (sep === '') return number;
  const groups = length === 15 ? [4, 6, 5] : [4, 4, 4, 4];
  const out: string[] = [];
  let at = 0;
  for (const g of groups) {
    out.push(number.slice(at, at + g));
    at += g;
  }
  return out.join(sep);
}

function ibanCheck(country: string, bban: string): string {
  const rearranged = `${bban}${country}00`;
  let rest = 0;
  for (const ch of rearranged) {
    const v = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rest = (rest * 10 + Number(d)) % 97;
  }
  return String(98 - rest).padStart(2, '0');
}

/** A mod-97-valid IBAN of Germany, the Netherlands, the UK or France, compact or in groups of four. */
export function randomIban(rng: Rng): string {
  const country = pick(rng, ['DE', 'NL', 'GB', 'FR']);
  const bban =
    country === 'DE'
      ? digits(rng, 18)
      : country === 'NL'
        ? pick(rng, ['ABNA', 'INGB', 'RABO']) + digits(rng, 10)
        : country === 'GB'
          ? pick(rng, ['WEST', 'NWBK', 'BARC']) + digits(rng, 14)
          : digits(rng, 10) + pick(rng, ['A', 'M', 'X']) + digits(rng, 12);
  const compact = country + ibanCheck(country, bban) + bban;
  if (rng() < 0.5) return compact;
  return compact.match(/.{1,4}/g)!.join(' ');
}

export function randomIp(rng: Rng): string {
  if (rng() < 0.6) return [int(rng, 1, 223), int(rng, 0, 255), int(rng, 0, 255), int(rng, 1, 254)].join('.');
  const groups = Array.from({ length: 8 }, () => int(rng, 0, 0xffff).toString(16));
  if (rng() < 0.5) return groups.join(':');
  return `2001:db8::${groups.slice(5).join(':')}`;
}

/** Identifiers, dates and versions that look like personal data to a careless matcher, and must survive. */
export function randomLookAlike(rng: Rng): string {
  const form = int(rng, 0, 6);
  if (form === 0) return `ORD-${int(rng, 2019, 2026)}-${digits(rng, 6)}`;
  if (form === 1) return `${int(rng, 2019, 2026)}-${String(int(rng, 1, 12)).padStart(2, '0')}-${String(int(rng, 1, 28)).padStart(2, '0')}`;
  if (form === 2) return `${int(rng, 2019, 2026)}-0${int(rng, 1, 9)}-1${int(rng, 0, 9)}T${String(int(rng, 0, 23)).padStart(2, '0')}:${String(int(rng, 0, 59)).padStart(2, '0')}:00Z`;
  if (form === 3) return `v${int(rng, 0, 9)}.${int(rng, 0, 40)}.${int(rng, 0, 99)}`;
  if (form === 4) return `${int(rng, 1, 3)}.${int(rng, 0, 30)}.${int(rng, 0, 30)}`;
  if (form === 5) return `invoice #${digits(rng, 5)}`;
  return `SKU-${digits(rng, 4)}-${pick(rng, ['A', 'B', 'XL'])}`;
}

const WORDS = ['the', 'customer', 'says', 'printer', 'refund', 'order', 'arrived', 'broken', 'please', 'call', 'me', 'at', 'or', 'write', 'to', 'account', 'billing', 'on', 'from', 'thanks'];

/** A document of words with planted values and look-alikes between them. */
export function randomDocument(rng: Rng, plantedCount: number, extra: Planted[] = []): { text: string; planted: Planted[]; lookAlikes: string[] } {
  const planted: Planted[] = [...extra];
  const lookAlikes: string[] = [];
  const parts: string[] = [];
  for (let i = 0; i < plantedCount; i++) {
    for (let w = int(rng, 1, 6); w > 0; w--) parts.push(pick(rng, WORDS));
    const kind = pick(rng, ['email', 'phone', 'card', 'iban', 'ip'] as const);
    const text = kind === 'email' ? randomEmail(rng) : kind === 'phone' ? randomPhone(rng) : kind === 'card' ? randomCard(rng) : kind === 'iban' ? randomIban(rng) : randomIp(rng);
    planted.push({ kind, text });
    const wrap = pick(rng, ['', '(', '<', '"']);
    const close = wrap === '(' ? ')' : wrap === '<' ? '>' : wrap;
    parts.push(`${wrap}${text}${close}${pick(rng, ['', ',', '.', ';', ':'])}`);
    if (rng() < 0.6) {
      const look = randomLookAlike(rng);
      lookAlikes.push(look);
      parts.push(pick(rng, WORDS), look);
    }
  }
  for (const e of extra) parts.splice(int(rng, 0, parts.length), 0, e.text);
  return { text: parts.join(pick(rng, [' ', ' ', '\n', '  '])), planted, lookAlikes };
}
