import type { Context } from 'egg';
import type { AuthenticatedToken } from '../oauth/principals';

/**
 * After authenticate(): lets the request through only when the token's user has the role.
 * Roles belong to the user and are a separate check from OAuth scopes.
 */
export default (options: { role: string }) => async function requireRole(ctx: Context, next: () => Promise<void>) {
  const token: AuthenticatedToken | undefined = ctx.state.oauth?.token;
  if (token?.user.kind !== 'user' || !token.user.roles.includes(options.role)) {
    ctx.status = 403;
    ctx.body = { error: 'access_denied', error_description: `This resource requires the role ${options.role}` };
    return;
  }
  await next();
};
