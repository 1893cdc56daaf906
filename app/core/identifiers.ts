import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** The users.email column's length (RFC 5321 §4.5.3.1.3 caps a path at 256 octets, the address at 254). */
export const MAX_EMAIL_LENGTH = 254;
/** Long enough for any written form of an E.164 number (15 digits) with spaces, dashes and brackets. */
export const MAX_PHONE_LENGTH = 32;

/** A default region for national numbers (ISO 3166-1 alpha-2, e.g. CN), or none: then only +… numbers parse. */
export type PhoneRegion = CountryCode | undefined;

/** The region setting, checked: empty is none, anything else must be a region libphonenumber knows. */
export function phoneRegion(value: string): PhoneRegion {
  if (!value) return undefined;
  const region = value.toUpperCase();
  if (!isSupportedCountry(region)) throw new Error(`PHONE_DEFAULT_REGION ${value} is not a region code libphonenumber knows (e.g. CN, US, FR)`);
  return region;
}

/**
 * The phone number as E.164 (`+8613800138000`), or null when the text is not a valid number. National
 * numbers parse with the default region. A form-encoded `+` that was not escaped (`username=+86…`)
 * arrives as a space (application/x-www-form-urlencoded): a leading space before digits is read as `+`.
 */
export function parsePhone(text: string, region: PhoneRegion): string | null {
  if (text.length > MAX_PHONE_LENGTH) return null;
  const written = /^ +[\d(]/.test(text) ? `+${text.trimStart()}` : text.trim();
  if (!/^\+?[\d\s().-]+$/.test(written)) return null;
  const number = parsePhoneNumberFromString(written, region);
  return number?.isValid() ? number.number : null;
}

/** An e-mail address as users type one: something@domain, no spaces, within the column. */
export function isEmail(text: string): boolean {
  return text.length <= MAX_EMAIL_LENGTH && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text);
}

/**
 * What a login's `username` names: an e-mail address when it has an `@`, a phone number
 * when it parses as one, else a username.
 */
export type LoginIdentifier =
  | { kind: 'email'; value: string }
  | { kind: 'phone'; value: string }
  | { kind: 'username'; value: string };

export function loginIdentifier(text: string, region: PhoneRegion): LoginIdentifier {
  if (text.includes('@')) return { kind: 'email', value: text.trim() };
  const phone = parsePhone(text, region);
  return phone ? { kind: 'phone', value: phone } : { kind: 'username', value: text };
}

/**
 * Why this cannot be a username, or null: a login would take a username with an `@` for an e-mail
 * address, and one of digits (and phone punctuation) for a phone number, in some region if not in this one.
 */
export function usernameProblem(username: string): string | null {
  if (username.includes('@')) return 'must not contain "@" (it would be read as an e-mail address)';
  if (/^[+\d\s().-]+$/.test(username) && /\d/.test(username)) return 'must not be a number (it would be read as a phone number)';
  return null;
}
