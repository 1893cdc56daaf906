import { strict as assert } from 'node:assert';
import { isEmail, loginIdentifier, parsePhone, phoneRegion, usernameProblem } from '../../app/core/identifiers';

describe('login identifiers (core/identifiers)', () => {
  it('parses phone numbers to E.164, national ones in the default region only', () => {
    assert.equal(parsePhone('+8613800138000', undefined), '+8613800138000');
    assert.equal(parsePhone('+86 138-0013-8000', undefined), '+8613800138000');
    assert.equal(parsePhone('13800138000', 'CN'), '+8613800138000');
    assert.equal(parsePhone('13800138000', undefined), null, 'no region: a national number is not a phone number');
    assert.equal(parsePhone('(201) 555-0123', 'US'), '+12015550123');
  });

  it('reads a leading space before digits as the + that form encoding turned into it', () => {
    assert.equal(parsePhone(' 8613800138000', undefined), '+8613800138000');
    assert.equal(parsePhone(' 12015550123', 'CN'), '+12015550123');
  });

  it('takes no invalid number, nor text, nor an overlong string for a phone number', () => {
    for (const text of [ '+86123', '12345', 'alice', '+8613800138000x', '1380013800a', `+86${'1'.repeat(40)}`, '' ]) {
      assert.equal(parsePhone(text, 'CN'), null, text);
    }
  });

  it('tells e-mail addresses, phone numbers and usernames apart', () => {
    assert.deepEqual(loginIdentifier(' alice@example.com ', 'CN'), { kind: 'email', value: 'alice@example.com' });
    assert.deepEqual(loginIdentifier('13800138000', 'CN'), { kind: 'phone', value: '+8613800138000' });
    assert.deepEqual(loginIdentifier('alice', 'CN'), { kind: 'username', value: 'alice' });
    assert.deepEqual(loginIdentifier('12345', 'CN'), { kind: 'username', value: '12345' });
  });

  it('refuses usernames that a login would read as an e-mail address or a phone number', () => {
    for (const name of [ 'alice@example.com', 'a@b', '13800138000', '+8613800138000', '(201) 555-0123', '42' ]) {
      assert.ok(usernameProblem(name), name);
    }
    for (const name of [ 'alice', 'alice.b', 'r2d2', 'agent-007' ]) assert.equal(usernameProblem(name), null, name);
  });

  it('checks e-mail addresses roughly, as people write them', () => {
    assert.equal(isEmail('alice@example.com'), true);
    for (const text of [ 'alice', 'alice@', '@example.com', 'a b@example.com', 'alice@example', `${'a'.repeat(250)}@example.com` ]) {
      assert.equal(isEmail(text), false, text);
    }
  });

  it('takes a known region code, in any case, or none', () => {
    assert.equal(phoneRegion('cn'), 'CN');
    assert.equal(phoneRegion(''), undefined);
    assert.throws(() => phoneRegion('XX'), /PHONE_DEFAULT_REGION XX/);
  });
});
