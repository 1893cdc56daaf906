/**
 * The form of a username that the users table matches (utf8mb4_unicode_ci ignores case, accents,
 * width and invisible characters): `démo`, `ＤＥＭＯ` and `demo` are one account, so one counter.
 */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKD').replace(/[\p{M}\p{Cf}]/gu, '').trim()
    .toLowerCase();
}
