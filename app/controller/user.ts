import { Controller } from 'egg';
import type { AuthenticatedToken } from '../oauth/principals';
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
  /**
   * GET /api/currentUser: the user the bearer token was issued to, without secrets. The token lookup
   * read the user already: no second query.
   */
  async current() {
    const { ctx } = this;
    const { user: principal }: AuthenticatedToken = ctx.state.oauth.token;
    if (principal.kind !== 'user') {
      ctx.status = 403;
      ctx.body = { error: 'access_denied', error_description: 'This token was issued to a client (client_credentials), not to a user' };
      return;
    }
    ctx.body = publicUser(principal);
  }

  /** GET /api/getUser: every user (role admin). */
  async list() {
    const users = await this.app.container.users.listUsers();
    this.ctx.body = users.map(publicUser);
  }
}
