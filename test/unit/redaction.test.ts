import * as assert from 'node:assert/strict';
import {
  ExampleRedactor,
  describeRedactionReport,
  emptyRedactionReport,
  ibanValid,
  isCardNumber,
  isIpv6,
  luhnValid,
  mergeRedactionReports,
} from '../../src/core/redaction';
import { randomDocument, seededRandom } from '../support/piiSamples';

describe('redaction', () => {
  it('replaces each kind with a numbered placeholder, the same one for the same value within an example', () => {
    const r = new ExampleRedactor({ sensitiveVariables: ['customer_name'] });
    const inputs = r.redactInputs({
      customer_name: 'Ada Lovelace',
      document:
        'Dear Ada Lovelace, write to ada@example.com or ADA@Example.com, call +44 20 7946 0958 or (415) 555-2671. ' +
        'Card 4111 1111 1111 1111 and 5555-5555-5555-4444, IBAN DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432. ' +
        'Seen from 192.168.1.20, 2001:db8::8a2e:370:7334 and 192.168.1.20 again.',
    });
    assert.equal(inputs.customer_name, '<CUSTOMER_NAME_1>');
    assert.equal(
      inputs.document,
      'Dear <CUSTOMER_NAME_1>, write to <EMAIL_1> or <EMAIL_1>, call <PHONE_1> or <PHONE_2>. ' +
        'Card <CARD_1> and <CARD_2>, IBAN <IBAN_1> and <IBAN_2>. Seen from <IP_1>, <IP_2> and <IP_1> again.',
    );
    // The reference of the same example shares the placeholders.
    assert.equal(r.redactText('Sent to Ada Lovelace at ada@example.com from 192.168.1.20'), 'Sent to <CUSTOMER_NAME_1> at <EMAIL_1> from <IP_1>');
    const report = r.report();
    assert.deepEqual(report.byKind, { sensitive: 3, email: 3, phone: 2, card: 2, iban: 2, ip: 4 });
    assert.equal(report.total, 16);
    assert.equal(report.examples, 1);
    assert.equal(describeRedactionReport(report), '3 sensitive variable values, 3 e-mail addresses, 2 phone numbers, 2 payment card numbers, 2 IBANs, 4 IP addresses in 1 example');
    assert.ok(!JSON.stringify(report).includes('Ada'));
  });

  it('leaves order numbers, ISO dates and times, version strings, short numbers and Luhn-failing digits alone', () => {
    const text =
      'Order ORD-2026-000123 (order 4815162342) placed 2026-12-01, shipped 2026-12-01T10:15:00Z at 10:15:00; ' +
      'app version 1.13.16, v2.4.1, build 10.0.19041.1, zip 94107, ticket #123456789, SKU-4411-XL, ' +
      'reference 4111-1111-1111-1112, tracking 1Z999AA10123456784, invoice INV-2026-4471, 3 items for $1,234.56';
    const r = new ExampleRedactor();
    assert.equal(r.redactText(text), text);
    assert.equal(r.report().total, 0);
    assert.equal(describeRedactionReport(r.report()), 'nothing redacted');
  });

  it('national numbers are read for eval.phone_region; international ones whatever the region', () => {
    const text = 'office 020 7946 0958, mobile +1 415 555 2671';
    assert.equal(new ExampleRedactor({ phoneRegion: 'GB' }).redactText(text), 'office <PHONE_1>, mobile <PHONE_2>');
    assert.equal(new ExampleRedactor({ phoneRegion: 'US' }).redactText(text), 'office 020 7946 0958, mobile <PHONE_1>');
    assert.throws(() => new ExampleRedactor({ phoneRegion: 'ZZ' }), /phone region "ZZ" is not a region code/);
  });

  it('a sensitive variable that is not a string is replaced whole; nested strings of other variables are scanned', () => {
    const r = new ExampleRedactor({ sensitiveVariables: ['account'] });
    const out = r.redactInputs({ account: { id: 77123, holder: 'Grace Hopper' }, history: [{ note: 'mail grace@example.com' }], count: 3 });
    assert.deepEqual(out, { account: '<ACCOUNT_1>', history: [{ note: 'mail <EMAIL_1>' }], count: 3 });
    assert.equal(r.redactText('Grace Hopper called'), '<ACCOUNT_1> called');
  });

  it('checks cards by brand prefix and Luhn, IBANs by country length and mod-97, IPv6 by RFC 4291 forms', () => {
    assert.ok(luhnValid('79927398713'));
    assert.ok(!luhnValid('79927398710'));
    for (const n of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '3530111333300000']) assert.ok(isCardNumber(n), n);
    assert.ok(!isCardNumber('1234567812345670')); // Luhn-valid, no brand starts with 1
    assert.ok(!isCardNumber('4111111111111112'));
    for (const iban of ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300']) assert.ok(ibanValid(iban), iban);
    assert.ok(!ibanValid('DE89370400440532013001'));
    assert.ok(!ibanValid('DE8937040044053201300')); // one short for Germany
    for (const a of ['2001:db8::1', '::ffff:192.0.2.1', 'fe80:0:0:0:202:b3ff:fe1e:8329', '::1']) assert.ok(isIpv6(a), a);
    for (const a of ['10:15:00', '1::2::3', '12345::1', 'a:b:c']) assert.ok(!isIpv6(a), a);
  });

  it('merges reports by kind', () => {
    const a = new ExampleRedactor();
    a.redactText('x@example.com');
    const merged = mergeRedactionReports(mergeRedactionReports(emptyRedactionReport(), a.report()), a.report());
    assert.equal(merged.byKind.email, 2);
    assert.equal(merged.examples, 2);
  });

  it('property: planted e-mails, phones, cards, IBANs, IPs and sensitive values never survive; look-alikes do', () => {
    const rng = seededRandom(18);
    let planted = 0;
    for (let doc = 0; doc < 400; doc++) {
      const secret = `Client${Math.floor(rng() * 1e6)} Name`;
      const { text, planted: values, lookAlikes } = randomDocument(rng, 1 + Math.floor(rng() * 6), [{ kind: 'sensitive', text: secret }]);
      const r = new ExampleRedactor({ sensitiveVariables: ['customer'] });
      const out = r.redactInputs({ customer: secret, document: text });
      const written = JSON.stringify(out);
      for (const v of values) {
        planted += 1;
        assert.ok(!written.includes(v.text), `document ${doc}: ${v.kind} ${v.text} survived in ${written}`);
        const compact = v.text.replace(/[ ()-]/g, '');
        if (v.kind !== 'email' && v.kind !== 'ip') assert.ok(!written.replace(/[ ()-]/g, '').includes(compact), `document ${doc}: ${v.kind} ${v.text} survived without separators`);
      }
      for (const look of lookAlikes) assert.ok((out.document as string).includes(look), `document ${doc}: look-alike ${look} was redacted: ${out.document as string}`);
    }
    assert.ok(planted > 1500);
  });
});
