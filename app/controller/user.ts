import { Controller } from 'egg';
import type { AuthenticatedToken } from '../extend/oauth';
import type { User } from '../repository/UserRepository';

function publicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    phone: user.phone,
    roles: user.roles,
    enabled: user.enabled,
    createdAt: user.createdAt,
  };
}

export default class UserController extends Controller {
  /** GET /api/currentUser: the user the bearer token was issued to, without secrets. */
  async current() {
    const { ctx, app } = this;
    const { user: principal }: AuthenticatedToken = ctx.state.oauth.token;
    if (principal.kind !== 'user') {
      ctx.status = 403;
      ctx.body = { error: 'access_denied', error_description: 'This token was issued to a client (client_credentials), not to a user' };
      return;
    }
    const user = await app.services.users.findUserById(principal.id);
    // The token lookup just found this user enabled; it can only be gone if deleted since.
    if (!user) throw new Error(`user ${principal.id} of a live token is missing`);
    ctx.body = publicUser(user);
  }

  /** GET /api/getUser: every user (role admin). */
  async list() {
    const users = await this.app.services.users.listUsers();
    this.ctx.body = users.map(publicUser);
  }
}
