import { Controller } from 'egg';
import { NO_STORE } from '../oauth/errors';
import { sendLoginCode } from '../oauth/smsLogin';

export default class SmsController extends Controller {
  /**
   * POST /api/sms/codes, form `phone=`: sends a login code by SMS. 202 whether the number
   * is registered or not, with how long a code lives; then `grant_type=password&auth_type=sms`.
   */
  async send() {
    const { ctx } = this;
    const { expiresIn } = await sendLoginCode(ctx);
    ctx.set(NO_STORE);
    ctx.status = 202;
    ctx.body = { expires_in: expiresIn };
  }
}
