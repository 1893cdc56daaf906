import type http from 'node:http';
import Koa from 'koa';
import koaJwt from 'koa-jwt';
import { koaJwtSecret } from 'jwks-rsa';
import { serveOnLoopback } from './helpers';

/**
 * A resource server as the services behind this one are written: Koa with koa-jwt, the keys from our
 * JWKS through jwks-rsa (cached, rate-limited), never calling back. GET / answers the token's claims.
 */
export async function startResourceServer({ issuer, audience }: { issuer: string; audience: string }): Promise<{ server: http.Server; origin: string }> {
  const rs = new Koa();
  rs.use(koaJwt({
    secret: koaJwtSecret({ jwksUri: `${issuer}/.well-known/jwks.json`, cache: true, rateLimit: true, jwksRequestsPerMinute: 120 }),
    algorithms: [ 'ES256', 'RS256' ],
    issuer,
    audience,
  }));
  rs.use(ctx => {
    ctx.body = ctx.state.user;
  });
  return serveOnLoopback(rs.callback());
}
