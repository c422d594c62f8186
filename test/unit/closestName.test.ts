import * as assert from 'node:assert/strict';
import { closestName, didYouMean, editDistance, misspeltAs, suggestionIn } from '../../src/core/closestName';

describe('did you mean', () => {
  it('counts Levenshtein edits: a swap is two, a missing or doubled letter one', () => {
    assert.equal(editDistance('customer_nmae', 'customer_name'), 2);
    assert.equal(editDistance('support_replly', 'support_reply'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  it('suggests the closest known name within max(2, length / 4) edits, none for a known or a far one', () => {
    assert.equal(closestName('support_replly', ['support_reply', 'refunds', 'escalation']), 'support_reply');
    assert.equal(closestName('Temprature', ['temperature', 'model']), 'temperature');
    assert.equal(closestName('support_reply', ['support_reply', 'support_replies']), undefined);
    assert.equal(closestName('refund_policy', ['refunds', 'escalation']), undefined);
  });

  it('takes a passed name for the missing one it misspells', () => {
    assert.equal(misspeltAs('customer_name', ['locale', 'customer_nmae']), 'customer_nmae');
    assert.equal(misspeltAs('customer_name', ['locale']), undefined);
  });

  it('reads back the suggestion it wrote into a message', () => {
    const message = `there is no prompt "support_replly"; ${didYouMean('support_reply')}`;
    assert.equal(suggestionIn(message), 'support_reply');
    assert.equal(suggestionIn('no suggestion here'), undefined);
  });
});
