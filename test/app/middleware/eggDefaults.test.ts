import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';

describe('[config] egg\'s defaults that an authorization server does without', () => {
  it('should not tell a client how long the server worked on its request (egg\'s x-readtime)', async () => {
    const res = await app.httpRequest().get('/health');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-readtime'], undefined);
  });

  it('should keep the security headers that matter and drop the ones for browsers long gone', async () => {
    const res = await app.httpRequest().get('/health');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(res.headers['x-xss-protection'], undefined);
    assert.equal(res.headers['x-download-options'], undefined);
  });

  it('should answer /favicon.ico with 404, not a redirect to another site', async () => {
    const res = await app.httpRequest().get('/favicon.ico');
    assert.equal(res.status, 404);
    assert.equal(res.headers.location, undefined);
  });

  it('should not let a form\'s _method turn a POST into another method', async () => {
    const res = await app.httpRequest().post('/oauth/revoke')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('_method=DELETE&token=x');
    // Still the POST route: its client authentication answers, not a 404 for DELETE /oauth/revoke.
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
  });
});
