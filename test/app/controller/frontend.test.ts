import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import defaultConfig from '../../../config/config.default';

describe('[GET /] the browser page', () => {
  it('should serve the page with a strict Content-Security-Policy: own origin only, no inline script', async () => {
    const res = await app.httpRequest().get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.text, /<form id="login-form"/);
    const csp = res.headers['content-security-policy'];
    assert.ok(csp, 'a CSP header');
    const directives = new Map<string, string>(csp.split(';').map((d: string) => {
      const [ name, ...values ] = d.trim().split(/\s+/);
      return [ name, values.join(' ') ];
    }));
    assert.equal(directives.get('default-src'), "'self'");
    assert.equal(directives.get('object-src'), "'none'");
    assert.equal(directives.get('base-uri'), "'none'");
    assert.equal(directives.get('frame-ancestors'), "'none'");
    assert.ok(!/unsafe-inline|unsafe-eval|nonce-|\*/.test(csp), csp);
    // Nothing the CSP would have to allow: every script is a file of this server.
    assert.doesNotMatch(res.text, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(res.text, /\son[a-z]+=/i, 'no inline event handler');
  });

  it('should serve every script and style the page loads from the app itself, qs included', async () => {
    const page = (await app.httpRequest().get('/')).text;
    const urls = [ ...page.matchAll(/\s(?:src|href)="([^"]+)"/g) ].map(m => m[1]);
    assert.deepEqual(urls.sort(), [ '/public/app.css', '/public/app.js', '/vendor/qs/qs.js' ]);
    for (const url of urls) {
      const res = await app.httpRequest().get(url);
      assert.equal(res.status, 200, url);
      assert.match(res.headers['content-type'], url.endsWith('.css') ? /text\/css/ : /javascript/, url);
    }
    const qs = await app.httpRequest().get('/vendor/qs/qs.js');
    assert.match(qs.text, /g\.Qs = f\(\)/, 'the browser build, which defines window.Qs');
    assert.equal((await app.httpRequest().get('/public/api.js')).status, 200, 'the module app.js imports');
  });

  it('should expose only qs\'s browser build, not the rest of node_modules', async () => {
    assert.notEqual((await app.httpRequest().get('/vendor/qs/../package.json')).status, 200);
    assert.notEqual((await app.httpRequest().get('/vendor/qs/lib/index.js')).status, 200);
  });
});

describe('[GET /frontend/config.json] the page\'s clients', () => {
  afterEach(mock.restore);

  it('should hand the page the configured client, never to be cached', async () => {
    mock(app.config.frontend, 'clientId', 'spa');
    mock(app.config.frontend, 'clientSecret', 'spa-secret');
    // Without a code-flow client and SMS login: exactly the body of the original front end's page.
    mock(app.config.frontend, 'codeClientId', '');
    mock(app.config.oauth.sms, 'sender', '');
    const res = await app.httpRequest().get('/frontend/config.json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { client_id: 'spa', client_secret: 'spa-secret' });
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('should 404 with a JSON error when no client is configured', async () => {
    mock(app.config.frontend, 'clientId', '');
    mock(app.config.frontend, 'codeClientId', '');
    const res = await app.httpRequest().get('/frontend/config.json');
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'not_found');
    assert.match(res.body.error_description, /FRONTEND_CLIENT_ID/);
    assert.match(res.body.error_description, /FRONTEND_CODE_CLIENT_ID/);
  });

  it('should hand the page both clients, the public one with the issuer it must find as iss (RFC 9207)', async () => {
    mock(app.config.frontend, 'clientId', 'spa');
    mock(app.config.frontend, 'clientSecret', 'spa-secret');
    mock(app.config.frontend, 'codeClientId', 'spa-public');
    mock(app.config.oauth.sms, 'sender', '');
    const res = await app.httpRequest().get('/frontend/config.json');
    assert.equal(res.status, 200);
    const origin = new URL(res.request.url).origin;
    assert.deepEqual(res.body, { client_id: 'spa', client_secret: 'spa-secret', code_flow_client_id: 'spa-public', issuer: origin });
    mock(app.config.oauth, 'issuer', 'https://auth.example.test');
    assert.equal((await app.httpRequest().get('/frontend/config.json')).body.issuer, 'https://auth.example.test');
  });

  it('should say that SMS login is on (SMS_SENDER), with the password form\'s client that asks for codes', async () => {
    mock(app.config.frontend, 'clientId', 'spa');
    mock(app.config.frontend, 'clientSecret', 'spa-secret');
    mock(app.config.frontend, 'codeClientId', '');
    mock(app.config.oauth.sms, 'sender', 'log');
    assert.deepEqual((await app.httpRequest().get('/frontend/config.json')).body, { client_id: 'spa', client_secret: 'spa-secret', sms_login: true });
    // No client to ask with: no SMS login on the page.
    mock(app.config.frontend, 'clientId', '');
    mock(app.config.frontend, 'codeClientId', 'spa-public');
    assert.equal((await app.httpRequest().get('/frontend/config.json')).body.sms_login, undefined);
  });

  it('should hand out no secret when only the public client is configured', async () => {
    mock(app.config.frontend, 'clientId', '');
    mock(app.config.frontend, 'codeClientId', 'spa-public');
    const res = await app.httpRequest().get('/frontend/config.json');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), [ 'code_flow_client_id', 'issuer' ]);
    assert.equal(res.headers['cache-control'], 'no-store');
  });
});

describe('config.frontend', () => {
  const VARIABLES = [ 'FRONTEND_CLIENT_ID', 'FRONTEND_CLIENT_SECRET', 'FRONTEND_CODE_CLIENT_ID' ] as const;
  const saved = VARIABLES.map(name => [ name, process.env[name] ] as const);
  function frontendIn(env: string) {
    return defaultConfig({ name: 'test', baseDir: __dirname, env } as never).frontend;
  }
  afterEach(() => {
    for (const [ name, value ] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('should default to the demo clients in the local and unittest environments only', () => {
    for (const name of VARIABLES) delete process.env[name];
    assert.deepEqual(frontendIn('local'), { clientId: 'my_app', clientSecret: 'my_secret', codeClientId: 'my_spa' });
    assert.deepEqual(frontendIn('unittest'), { clientId: 'my_app', clientSecret: 'my_secret', codeClientId: 'my_spa' });
    assert.deepEqual(frontendIn('prod'), { clientId: '', clientSecret: '', codeClientId: '' });
  });

  it('should take FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET in every environment', () => {
    delete process.env.FRONTEND_CODE_CLIENT_ID;
    process.env.FRONTEND_CLIENT_ID = 'spa';
    process.env.FRONTEND_CLIENT_SECRET = 'spa-secret';
    assert.deepEqual(frontendIn('prod'), { clientId: 'spa', clientSecret: 'spa-secret', codeClientId: '' });
    assert.deepEqual(frontendIn('local'), { clientId: 'spa', clientSecret: 'spa-secret', codeClientId: 'my_spa' });
  });

  it('should take FRONTEND_CODE_CLIENT_ID in every environment, apart from the password client', () => {
    for (const name of VARIABLES) delete process.env[name];
    process.env.FRONTEND_CODE_CLIENT_ID = 'spa-public';
    assert.deepEqual(frontendIn('prod'), { clientId: '', clientSecret: '', codeClientId: 'spa-public' });
    assert.deepEqual(frontendIn('local'), { clientId: 'my_app', clientSecret: 'my_secret', codeClientId: 'spa-public' });
  });
});
