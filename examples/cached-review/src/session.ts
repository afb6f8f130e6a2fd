/** The signed-in user, from a cookie-like token. */
let token: string | null = null;

export function signIn(user: string, password: string): void {
  if (password.length > 0) token = Buffer.from(user).toString('base64');
}

export function currentUser(): string | null {
  return token === null ? null : Buffer.from(token, 'base64').toString();
}
