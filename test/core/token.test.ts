import { strict as assert } from 'node:assert';
import { generateGrantId, generateToken } from '../../app/core/token';

describe('[core/token] random tokens and grant ids', () => {
  it('should make tokens of 256 random bits (64 hex characters) and grant ids of 128 (32)', () => {
    assert.match(generateToken(), /^[0-9a-f]{64}$/);
    assert.match(generateGrantId(), /^[0-9a-f]{32}$/);
  });

  it('should never hand out the same bytes twice, across many refills of its buffer', () => {
    // 20,000 tokens and grant ids: 960,000 bytes, the 4 KiB buffer refilled 234 times.
    const seen = new Set<string>();
    for (let i = 0; i < 10000; i++) {
      seen.add(generateToken());
      seen.add(generateGrantId());
    }
    assert.equal(seen.size, 20000);
  });

  it('should spread its bits evenly (no zeroed or reused buffer shows through)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const digit of generateToken()) counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    // 128,000 hex digits: 8,000 of each expected; a run of zeros would swell '0' far past this.
    assert.equal(counts.size, 16);
    for (const [ digit, count ] of counts) assert.ok(count > 7400 && count < 8600, `${digit}: ${count}`);
  });
});
