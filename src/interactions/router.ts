import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import { errors, type Provider } from 'oidc-provider';
import type { Accounts } from '../domain/accounts.ts';
import type { AuditLog } from '../domain/audit.ts';
import { InvalidRequest } from '../domain/errors.ts';
import { languageOf, translatorOf, useRequestLanguage } from '../pages/language/page-language.ts';
import { WordedInvalidRequest } from '../pages/language/worded-errors.ts';
import type { ResourceServers } from '../domain/resource-servers.ts';
import { csrfToken, requireCsrfToken } from '../http/csrf.ts';
import { INTERACTION_PATH } from '../oidc/provider.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-client.ts';
import { presentationOf, type ClientPresentation } from './client-presentation.ts';
import { consentRequest, describeConsent, type InteractionDetails } from './prompt-details.ts';
import { passkeySignInRoutes } from './passkey-sign-in.ts';
import { signInRoutes, type SignInDependencies } from './sign-in.ts';
import type { Views } from './views.ts';
import { displayUserCode } from './user-code.ts';

export interface InteractionDependencies extends SignInDependencies {
  provider: () => Provider;
  accounts: Accounts;
  resourceServers: ResourceServers;
  audit: AuditLog;
  views: Views;
  /** for telling the logos Postern serves from any other */
  issuer: string;
}

/** Login, consent and abort: the pages the engine sends the browser to during authorization. */
export function interactionRouter(deps: InteractionDependencies): Router {
  const router = new Router({ prefix: INTERACTION_PATH });
  const form = [bodyParser({ enableTypes: ['form'], formLimit: '16kb' }), requireCsrfToken];

  async function details(ctx: Context, expectedPrompt?: string): Promise<InteractionDetails> {
    const found = await deps.provider().interactionDetails(ctx.req, ctx.res).catch((error: unknown) => {
      if (error instanceof errors.SessionNotFound) {
        throw new WordedInvalidRequest('refusal.signInExpired', { cause: error });
      }
      throw error;
    });
    if (found.uid !== ctx.params.uid) throw new WordedInvalidRequest('refusal.signInOtherSession');
    // the application's ui_locales choose the language of every page of its sign-in; a form
    // post's page is the interaction's GET page when the switcher sends the browser back
    useRequestLanguage(ctx, found.params.ui_locales, `${INTERACTION_PATH}/${found.uid}`);
    if (expectedPrompt && found.prompt.name !== expectedPrompt) throw new WordedInvalidRequest('refusal.stepDone');
    return found;
  }

  async function clientName(ctx: Context, clientId: unknown): Promise<string> {
    // the account pages' own client is named in the reader's language
    if (clientId === ACCOUNT_CLIENT_ID) return translatorOf(ctx).t('account.clientName');
    const client = await deps.provider().Client.find(String(clientId));
    return (client?.clientName as string | undefined) ?? String(clientId);
  }

  async function clientPage(ctx: Context, clientId: unknown): Promise<{ clientName: string; client: ClientPresentation }> {
    const client = await deps.provider().Client.find(String(clientId));
    return { clientName: await clientName(ctx, clientId), client: presentationOf(client, deps.issuer) };
  }

  async function finish(ctx: Context, result: Parameters<Provider['interactionResult']>[2], merge: boolean) {
    const redirectTo = await deps.provider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  /** The code a device shows, when a device asks (the interaction of a device authorization grant). */
  async function deviceUserCodeOf(interaction: InteractionDetails): Promise<string | undefined> {
    const id = (interaction as { deviceCode?: unknown }).deviceCode;
    if (typeof id !== 'string') return undefined;
    const code = await deps.provider().DeviceCode.find(id, { ignoreExpiration: true });
    return code?.userCode ? displayUserCode(code.userCode) : undefined;
  }

  const helpers = { details, clientName, clientPage, finish, form };
  const signIn = signInRoutes(router, deps, helpers);

  router.get('/:uid', async (ctx) => {
    const interaction = await details(ctx);
    ctx.set('Cache-Control', 'no-store');
    if (interaction.prompt.name === 'login') {
      await signIn.show(ctx, interaction);
      return;
    }
    if (interaction.prompt.name === 'consent') {
      const account = interaction.session?.accountId ? await deps.accounts.findById(interaction.session.accountId) : undefined;
      const t = translatorOf(ctx).t;
      const described = await describeConsent(consentRequest(interaction), deps.resourceServers, translatorOf(ctx));
      const deviceUserCode = await deviceUserCodeOf(interaction);
      ctx.type = 'html';
      ctx.body = deps.views.render('consent', {
        title: t('consent.title'),
        action: `${INTERACTION_PATH}/${interaction.uid}/confirm`,
        denyAction: `${INTERACTION_PATH}/${interaction.uid}/abort`,
        switchAction: `${INTERACTION_PATH}/${interaction.uid}/switch-account`,
        csrfToken: csrfToken(ctx),
        ...(await clientPage(ctx, interaction.params.client_id)),
        accountName: account?.email ?? account?.username ?? t('consent.yourAccount'),
        ...described,
        deviceUserCode,
      }, languageOf(ctx));
      return;
    }
    throw new InvalidRequest(`unsupported interaction prompt ${interaction.prompt.name}`);
  });

  signIn.register();
  passkeySignInRoutes(router, deps, helpers, signIn);

  router.post('/:uid/confirm', ...form, async (ctx) => {
    const interaction = await details(ctx, 'consent');
    const provider = deps.provider();
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id);
    if (!accountId) throw new WordedInvalidRequest('refusal.noSignedInUser');
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId, clientId });
    if (!grant) throw new WordedInvalidRequest('refusal.requestExpired');
    const request = consentRequest(interaction);
    if (request.missingOIDCScope.length > 0) grant.addOIDCScope(request.missingOIDCScope.join(' '));
    if (request.missingOIDCClaims.length > 0) grant.addOIDCClaims(request.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(request.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await deps.audit.record({ type: 'consent.granted', accountId, clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') });
    await finish(ctx, { consent: interaction.grantId ? {} : { grantId } }, true);
  });

  // "Not you?": the engine's own account switch (its select_account example). The request is asked
  // again with prompt=login, so its sign-in page comes back for the same authorization request;
  // when another account signs in there, the engine ends the first account's session before it
  // continues, and the request's client, redirect URI, state and PKCE challenge are kept throughout.
  router.post('/:uid/switch-account', ...form, async (ctx) => {
    const interaction = await details(ctx, 'consent');
    const prompts = new Set(typeof interaction.params.prompt === 'string' ? interaction.params.prompt.split(' ').filter(Boolean) : []);
    prompts.add('login');
    interaction.params.prompt = [...prompts].join(' ');
    await interaction.save(Math.max(1, interaction.exp - Math.floor(Date.now() / 1000)));
    await finish(ctx, {}, false);
  });

  router.post('/:uid/abort', ...form, async (ctx) => {
    await details(ctx);
    await finish(ctx, { error: 'access_denied', error_description: 'The user denied the request.' }, false);
  });

  return router;
}
