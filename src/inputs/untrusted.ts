/**
 * Rules for values that reach a command line or a URL we did not write: an option-like value, and
 * credentials in a URL. Each check returns the rule a value breaks, phrased to follow `Input "x" …`, or
 * undefined; `hideCredentials` is how such a value may be shown in a message.
 */

/** A value starting with "-" would be read as an option by the command it is passed to (nix, git). */
export function checkNotOptionLike(value: string): string | undefined {
  return value.startsWith('-')
    ? 'must not start with "-", which a command would read as an option (write a file of that name as ./-name)'
    : undefined;
}

/**
 * Query parameter names that carry a secret: `private_token`, `access_token`, `token`, `api_key`,
 * `password`, `client_secret`, `auth`, `sig`… matched case-insensitively as a part of the name. Nix's own
 * parameters that merely look alike (`publicKey`, `publicKeys`, `keytype`: commit signature checks) are
 * public values and pass.
 */
const SECRET_PARAM = /token|key|secret|passw|pwd|auth|credential|signature|^sig$|session|cookie/i;
const PUBLIC_NIX_PARAMS = new Set(['publickey', 'publickeys', 'keytype']);

function queryNames(value: string): string[] {
  const query = /\?([^#]*)/.exec(value)?.[1];
  if (query === undefined) return [];
  return query.split('&').map((pair) => decodeParamName(pair.split('=')[0] ?? ''));
}

/** A query parameter name as a server reads it (`+` is a space); one with a bad percent escape as given. */
function decodeParamName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name) && !PUBLIC_NIX_PARAMS.has(name.toLowerCase());
}

/**
 * A URL (or flake reference) that carries credentials: user:password (any scheme), a user name over
 * http(s), where a token often sits, or a query parameter named like a secret.
 */
export function checkNoCredentials(value: string): string | undefined {
  const userInfo = /:\/\/[^/@:?#]*:[^/@?#]*@/.test(value) || /^([a-z]+\+)?https?:\/\/[^/@?#]+@/i.test(value);
  if (userInfo || queryNames(value).some(isSecretParam)) {
    return 'must not contain credentials; give them to Nix instead, e.g. access-tokens in extra-nix-config or github-token';
  }
  return undefined;
}

/** A URL as shown in a message: its user info and the values of secret-like query parameters are ***. */
export function hideCredentials(value: string): string {
  const noUser = value.replace(/\/\/[^/?#]*@/, '//***@');
  return noUser.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, name: string) =>
    isSecretParam(decodeParamName(name)) ? `${sep}${name}=***` : whole,
  );
}
