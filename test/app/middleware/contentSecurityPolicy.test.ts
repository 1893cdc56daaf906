import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';

const POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('[middleware/contentSecurityPolicy] the same policy on every answer of our routes', () => {
  it('should send it on a JSON answer, an error answer and the browser page', async () => {
    for (const res of [
      await app.httpRequest().get('/health'),
      await app.httpRequest().get('/api/currentUser'),
      await app.httpRequest().get('/'),
    ]) {
      assert.equal(res.headers['content-security-policy'], POLICY, `${res.status} ${res.text.slice(0, 80)}`);
    }
  });

  it('should not parse the User-Agent to build it (egg-security\'s own CSP did, on every request)', async () => {
    const ie = 'Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko';
    const res = await app.httpRequest().get('/health').set('User-Agent', ie);
    assert.equal(res.headers['content-security-policy'], POLICY);
    assert.equal(res.headers['x-content-security-policy'], undefined);
  });
});
