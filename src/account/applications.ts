import type Router from '@koa/router';
import { csrfToken } from '../http/csrf.ts';
import type { AccountApplicationsPage } from '../interactions/views.ts';
import type { GrantView } from '../oidc/account-sessions.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { permissionLines } from '../pages/language/permissions.ts';
import type { Translator } from '../pages/language/translator.ts';
import { WordedInvalidRequest, WordedNotFound } from '../pages/language/worded-errors.ts';
import { ACCOUNT_CLIENT_ID } from './account-client.ts';
import { displayTime, noticeFrom } from './format.ts';
import type { AccountPageDependencies, AccountPages } from './pages.ts';
import { ACCOUNT_PAGES, route } from './paths.ts';

const MAX_GRANTS_PER_FORM = 100;

/** The grants an account gave, by application: one browser session can leave a grant of its own. */
export async function grantsByApplication(deps: AccountPageDependencies, accountId: string): Promise<Map<string, GrantView[]>> {
  const byClient = new Map<string, GrantView[]>();
  for (const grant of await deps.sessions.listGrants(accountId)) {
    // the account pages' own client is how the user got here, not an application to remove
    if (grant.clientId === ACCOUNT_CLIENT_ID) continue;
    byClient.set(grant.clientId, [...(byClient.get(grant.clientId) ?? []), grant]);
  }
  return byClient;
}

/** Which applications may use the account, and what they were allowed; removing that access. */
export function applicationRoutes(router: Router, deps: AccountPageDependencies, pages: AccountPages): void {
  const { clients, resourceServers } = deps.services;

  async function describe(clientId: string, grants: GrantView[], translator: Translator): Promise<AccountApplicationsPage['applications'][number]> {
    const scopes = new Set(grants.flatMap((grant) => grant.scopes));
    const apiScopes = new Map<string, Set<string>>();
    for (const { resource, scopes: granted } of grants.flatMap((grant) => grant.apis)) {
      apiScopes.set(resource, new Set([...(apiScopes.get(resource) ?? []), ...granted]));
    }
    const apis = await Promise.all(
      [...apiScopes].map(async ([resource, granted]) => {
        const server = await resourceServers.find(resource);
        return {
          name: server?.name ?? resource,
          scopes: [...granted].map((scope) => server?.scopes.find((known) => known.scope === scope)?.description || scope),
        };
      }),
    );
    return {
      name: (await clients.metadataFor(clientId))?.client_name ?? clientId,
      grants: grants.map((grant) => grant.grantId).join(' '),
      permissions: permissionLines(translator, scopes),
      apis,
      grantedAt: displayTime(new Date(Math.max(...grants.map((grant) => grant.grantedAt.getTime()))), translator),
    };
  }

  router.get(
    route(ACCOUNT_PAGES.applications),
    pages.signedIn(async (ctx, user) => {
      const translator = translatorOf(ctx);
      const applications = await Promise.all([...(await grantsByApplication(deps, user.account.id))].map(([clientId, grants]) => describe(clientId, grants, translator)));
      applications.sort((a, b) => a.name.localeCompare(b.name, translator.language));
      pages.html(
        ctx,
        200,
        deps.views.render('account-applications', {
          title: translator.t('applications.title'),
          backLink: ACCOUNT_PAGES.overview,
          csrfToken: csrfToken(ctx),
          revokeAction: ACCOUNT_PAGES.revokeApplication,
          notice: noticeFrom(ctx.query.notice, translator),
          applications,
        }, languageOf(ctx)),
      );
    }),
  );

  router.post(
    route(ACCOUNT_PAGES.revokeApplication),
    ...pages.form,
    pages.signedIn(async (ctx, user) => {
      const field = (ctx.request.body as Record<string, unknown>).grants;
      const requested = [...new Set(typeof field === 'string' ? field.split(/\s+/).filter(Boolean) : [])];
      if (requested.length === 0 || requested.length > MAX_GRANTS_PER_FORM) throw new WordedInvalidRequest('refusal.chooseApplication');
      const own = new Map([...(await grantsByApplication(deps, user.account.id)).values()].flat().map((grant) => [grant.grantId, grant]));
      // all or nothing: a grant that is not this user's is "not found", and then nothing is removed
      if (!requested.every((grantId) => own.has(grantId))) throw new WordedNotFound('refusal.applicationHasNoAccess');
      const revoked = new Map<string, number>();
      for (const grantId of requested) {
        const grant = await deps.sessions.revokeGrant(user.account.id, grantId);
        if (grant) revoked.set(grant.clientId, (revoked.get(grant.clientId) ?? 0) + 1);
      }
      for (const [clientId, grants] of revoked) await pages.audit(ctx, user, { type: 'grant.revoked', clientId, details: { grants, via: 'account' } });
      pages.redirect(ctx, ACCOUNT_PAGES.applications, 'access-removed');
    }),
  );
}
