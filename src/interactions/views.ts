import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

export interface PageFrame {
  title: string;
}

export interface LoginPage extends PageFrame {
  action: string;
  abortAction: string;
  csrfToken: string;
  clientName: string;
  login: string;
  error?: string | undefined;
}

export interface ConsentPage extends PageFrame {
  action: string;
  denyAction: string;
  csrfToken: string;
  clientName: string;
  accountName: string;
  /** plain-language lines: what the application will receive */
  permissions: string[];
  apis: Array<{ name: string; scopes: string[] }>;
}

export interface LogoutPage extends PageFrame {
  /** the engine's hidden confirmation form (trusted HTML: action URL and xsrf token) */
  engineForm: string;
  clientName?: string | undefined;
}

export interface LoggedOutPage extends PageFrame {
  clientName?: string | undefined;
}

export interface ErrorPage extends PageFrame {
  error: string;
  description: string;
  requestId?: string | undefined;
}

export interface PageTypes {
  login: LoginPage;
  consent: ConsentPage;
  logout: LogoutPage;
  'logged-out': LoggedOutPage;
  error: ErrorPage;
}

export interface Views {
  render<Name extends keyof PageTypes>(name: Name, data: PageTypes[Name]): string;
}

/** Server-rendered pages through Eta, which escapes every `<%= %>` output. */
export function createViews(options: { cache: boolean }): Views {
  const eta = new Eta({ views: VIEWS_DIR, cache: options.cache, autoEscape: true, autoTrim: false });
  return {
    render(name, data) {
      return eta.render(`./${name}`, data);
    },
  };
}
