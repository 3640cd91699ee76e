import type Router from '@koa/router';
import type { Context } from 'koa';
import { PasskeyRefused, type VerifiedAssertion } from '../domain/passkeys.ts';
import { csrfToken } from '../http/csrf.ts';
import { countSignIn } from '../metrics/index.ts';
import { ACR, passkeyAmr, requestsPhishingResistant } from '../oidc/configuration/authentication-context.ts';
import { INTERACTION_PATH } from '../oidc/provider.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { WordedInvalidRequest } from '../pages/language/worded-errors.ts';
import type { InteractionDetails } from './prompt-details.ts';
import { PASSKEY_OFFER_QUIET_SECONDS, passkeyOfferDeclinedKey, pendingKey, type InteractionHelpers, type PendingSecondFactor, type SignInDependencies, type signInRoutes } from './sign-in.ts';

type SignInSteps = ReturnType<typeof signInRoutes>;

/**
 * Passkeys at sign-in. Without a password step pending: passwordless, with any discoverable
 * credential (the button or the browser's autofill on the login page). After a password or for a
 * step-up: one of the pending account's passkeys, as the second factor. A passkey with no password
 * in the same sign-in counts only when the authenticator verified its user. Refusals are audited
 * and counted by the lockout like wrong passwords.
 */
export function passkeySignInRoutes(router: Router, deps: SignInDependencies, helpers: InteractionHelpers, steps: SignInSteps) {
  const { form } = helpers;
  const stepCeremony = (uid: string) => `step:${uid}`;

  async function pendingOrNone(ctx: Context, uid: string): Promise<PendingSecondFactor | undefined> {
    return deps.kv.get(pendingKey(uid)).then((raw) => (raw ? steps.pending(ctx, uid) : undefined));
  }

  async function renderStep(ctx: Context, interaction: InteractionDetails, state: PendingSecondFactor, error?: string) {
    const passkeyOptions = JSON.stringify(await deps.passkeys.authenticationOptions(stepCeremony(interaction.uid), state.accountId));
    const totpLink = !requestsPhishingResistant(interaction.params.acr_values) && (await deps.totp.isEnabled(state.accountId))
      ? `${INTERACTION_PATH}/${interaction.uid}/totp`
      : undefined;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = deps.views.render('passkey-step', {
      title: translatorOf(ctx).t('passkeyStep.title'),
      action: `${INTERACTION_PATH}/${interaction.uid}/passkey`,
      abortAction: `${INTERACTION_PATH}/${interaction.uid}/abort`,
      passkeyOptions,
      csrfToken: csrfToken(ctx),
      clientName: await helpers.clientName(ctx, interaction.params.client_id),
      totpLink,
      error,
    }, languageOf(ctx));
  }

  async function refused(ctx: Context, interaction: InteractionDetails, error: PasskeyRefused, state: PendingSecondFactor | undefined) {
    const clientId = String(interaction.params.client_id);
    const accountId = state?.accountId ?? error.accountId;
    const attempt = accountId ? await steps.attemptOf(ctx, accountId) : { accountId: undefined, deviceId: undefined, ip: ctx.ip };
    countSignIn('failure', 'passkey');
    const outcome = await deps.throttle.recordFailure(attempt);
    const details = { reason: `passkey_${error.reason}`, credential: error.credentialId, step: state ? 'second_factor' : 'passwordless' };
    await steps.audit(ctx, { type: 'login.failed', accountId, clientId, details });
    if (error.reason === 'counter_regressed') {
      await steps.audit(ctx, { type: 'passkey.clone_suspected', accountId, clientId, details: { credential: error.credentialId } });
    }
    if (outcome.lockedNow) await steps.audit(ctx, { type: 'login.locked', accountId, clientId, details: { scope: outcome.scope, waitSeconds: outcome.waitSeconds } });
    ctx.status = 401;
    const message = translatorOf(ctx).t(error.reason === 'counter_regressed' ? 'passkey.cloned' : 'passkey.refused');
    if (state) return renderStep(ctx, interaction, state, message);
    await steps.renderLogin(ctx, interaction.uid, await helpers.clientPage(ctx, clientId), '', message, { autofill: false });
  }

  async function offered(ctx: Context, uid: string): Promise<PendingSecondFactor> {
    const state = await steps.pending(ctx, uid);
    if (!state.offer) throw new WordedInvalidRequest('refusal.stepDone');
    return state;
  }

  async function renderOffer(ctx: Context, interaction: InteractionDetails, state: PendingSecondFactor, status: number, error?: string) {
    const account = await deps.accounts.findById(state.accountId);
    if (!account) throw new WordedInvalidRequest('refusal.stepExpired');
    const options = await deps.passkeys.registrationOptions(`register:${account.id}`, account);
    const t = translatorOf(ctx).t;
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = deps.views.render('passkey-offer', {
      title: t('passkeyOffer.title'),
      action: `${INTERACTION_PATH}/${interaction.uid}/passkey-offer`,
      skipAction: `${INTERACTION_PATH}/${interaction.uid}/passkey-offer/skip`,
      passkeyOptions: JSON.stringify(options),
      csrfToken: csrfToken(ctx),
      clientName: await helpers.clientName(ctx, interaction.params.client_id),
      username: account.username,
      error,
    }, languageOf(ctx));
  }

  /** After a password alone: a passkey for next time, in one step, or "not now" (for a while). */
  router.get('/:uid/passkey-offer', async (ctx) => {
    const interaction = await helpers.details(ctx, 'login');
    await renderOffer(ctx, interaction, await offered(ctx, interaction.uid), 200);
  });

  router.post('/:uid/passkey-offer', ...form, async (ctx) => {
    const interaction = await helpers.details(ctx, 'login');
    const state = await offered(ctx, interaction.uid);
    const clientId = String(interaction.params.client_id);
    const body = ctx.request.body as Record<string, unknown>;
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 64) : '';
    try {
      // the password was checked in this same sign-in moments ago: it is not asked again
      const passkey = await deps.passkeys.register(`register:${state.accountId}`, state.accountId, body.response, name || translatorOf(ctx).t('passkeys.defaultName'));
      await steps.audit(ctx, { type: 'passkey.registered', accountId: state.accountId, clientId, details: { credential: passkey.id, name: passkey.name, deviceType: passkey.deviceType, during: 'sign_in' } });
    } catch (error) {
      if (!(error instanceof PasskeyRefused)) throw error;
      await steps.audit(ctx, { type: 'passkey.registration_failed', accountId: state.accountId, clientId, details: { reason: error.reason, during: 'sign_in' } });
      return renderOffer(ctx, interaction, state, 400, translatorOf(ctx).t('passkeys.refused'));
    }
    await deps.kv.del([pendingKey(interaction.uid)]);
    await steps.complete(ctx, state, clientId, 'password');
  });

  router.post('/:uid/passkey-offer/skip', ...form, async (ctx) => {
    const interaction = await helpers.details(ctx, 'login');
    const state = await offered(ctx, interaction.uid);
    await deps.kv.set(passkeyOfferDeclinedKey(state.accountId), '1', PASSKEY_OFFER_QUIET_SECONDS);
    await deps.kv.del([pendingKey(interaction.uid)]);
    await steps.complete(ctx, state, String(interaction.params.client_id), 'password');
  });

  router.get('/:uid/passkey', async (ctx) => {
    const interaction = await helpers.details(ctx, 'login');
    const state = await steps.pending(ctx, interaction.uid);
    if ((await deps.passkeys.count(state.accountId)) === 0) throw new WordedInvalidRequest('refusal.passkeyRequired');
    await renderStep(ctx, interaction, state);
  });

  router.post('/:uid/passkey', ...form, async (ctx) => {
    const interaction = await helpers.details(ctx, 'login');
    const state = await pendingOrNone(ctx, interaction.uid);
    const response = (ctx.request.body as Record<string, unknown>).response;
    const clientId = String(interaction.params.client_id);
    let verified: VerifiedAssertion;
    try {
      verified = state
        ? await deps.passkeys.verify(stepCeremony(interaction.uid), response, state.accountId)
        : await deps.passkeys.verify(`signin:${interaction.uid}`, response);
      // with no password in this sign-in, the key alone is one factor: it must have verified its user
      if (!verified.userVerified && state?.purpose !== 'login') {
        throw new PasskeyRefused('user_not_verified', { accountId: verified.passkey.accountId, credentialId: verified.passkey.id });
      }
    } catch (error) {
      if (error instanceof PasskeyRefused) return refused(ctx, interaction, error, state);
      throw error;
    }
    const accountId = verified.passkey.accountId;
    const account = await deps.accounts.findById(accountId);
    const attempt = await steps.attemptOf(ctx, accountId);
    if (!account || account.disabled || (await deps.throttle.check(attempt)).locked) {
      countSignIn('locked', 'passkey');
      await steps.audit(ctx, { type: 'login.failed', accountId, clientId, details: { reason: account?.disabled ? 'disabled' : 'locked', method: 'passkey' } });
      ctx.status = 401;
      if (state) return renderStep(ctx, interaction, state, translatorOf(ctx).t('passkey.refused'));
      return steps.renderLogin(ctx, interaction.uid, await helpers.clientPage(ctx, clientId), '', translatorOf(ctx).t('passkey.refused'), { autofill: false });
    }
    if (state) await deps.kv.del([pendingKey(interaction.uid)]);
    const amr = passkeyAmr({ synced: verified.passkey.deviceType === 'multiDevice', userVerified: verified.userVerified, password: state?.purpose === 'login' });
    await steps.complete(ctx, { accountId, generation: state?.generation ?? account.deviceGeneration }, clientId, { method: 'passkey', amr, acr: ACR.phishingResistant });
  });
}
