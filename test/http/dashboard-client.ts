import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser's part in the dashboard, over `app.inject()`: a cookie jar (names and values of
 * Set-Cookie, expired ones dropped) and the forms' CSRF tokens read from the pages.
 */
export class DashboardClient {
  readonly jar = new Map<string, string>();

  constructor(private readonly app: FastifyInstance, private readonly headers: Record<string, string> = {}) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: LightMyRequestResponse): void {
    const raw = res.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({ method: 'GET', url, headers: { ...this.headers, cookie: this.cookieHeader(), ...headers } });
    this.keep(res);
    return res;
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method: 'POST',
      url,
      headers: { ...this.headers, cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(form).toString(),
    });
    this.keep(res);
    return res;
  }

  /** Signs in through the sign-in form; returns the POST's response (303 when it worked). */
  async signIn(token: string): Promise<LightMyRequestResponse> {
    const page = await this.get('/dashboard/sign-in');
    return this.post('/dashboard/sign-in', { _csrf: csrfOf(page.body), token });
  }
}

/** The first form's CSRF token on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no CSRF field on the page: ${html.slice(0, 200)}`);
  return m[1];
}

/** Every Set-Cookie line of a response. */
export function setCookies(res: LightMyRequestResponse): string[] {
  const raw = res.headers['set-cookie'];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}
