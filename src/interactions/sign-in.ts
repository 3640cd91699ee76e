import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Account, Accounts } from '../domain/accounts.ts';
import type { AuditEvent, AuditLog } from '../domain/audit.ts';
import type { LoginThrottle, SignInAttempt } from '../domain/login-throttle.ts';
import type { Passkeys } from '../domain/passkeys.ts';
import type { RecoveryCodes } from '../domain/recovery-codes.ts';
import type { Totp } from '../domain/totp.ts';
import type { TrustedDevices } from '../domain/trusted-devices.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-client.ts';
import { csrfToken } from '../http/csrf.ts';
import { rememberDevice, trustedDeviceId } from '../http/device-cookie.ts';
import { ACR, AMR, requestsPhishingResistant, requestsSecondFactor } from '../oidc/configuration/authentication-context.ts';
import { INTERACTION_PATH } from '../oidc/provider.ts';
import type { KvStore } from '../store/kv/index.ts';
import { countSignIn, type SignInMethod } from '../metrics/index.ts';
import type { InteractionDetails } from './prompt-details.ts';
import type { ClientPresentation } from './client-presentation.ts';
import type { Views } from './views.ts';
import { languageOf, translatorOf } from '../pages/language/page-language.ts';
import { WordedInvalidRequest } from '../pages/language/worded-errors.ts';

export interface SignInDependencies {
  accounts: Accounts;
  throttle: LoginThrottle;
  devices: TrustedDevices;
  totp: Totp;
  recoveryCodes: RecoveryCodes;
  passkeys: Passkeys;
  audit: AuditLog;
  views: Views;
  kv: KvStore;
  /** links shown under the login form */
  links: { reset?: string | undefined; register?: string | undefined };
}

export interface InteractionHelpers {
  details(ctx: Context, expectedPrompt?: string): Promise<InteractionDetails>;
  clientName(ctx: Context, clientId: unknown): Promise<string>;
  /** the client's name and how it presents itself (logo, links) */
  clientPage(ctx: Context, clientId: unknown): Promise<{ clientName: string; client: ClientPresentation }>;
  finish(ctx: Context, result: Record<string, unknown>, merge: boolean): Promise<void>;
  form: Middleware[];
}

/** A password accepted, a second factor still to come: kept beside the interaction. */
export interface PendingSecondFactor {
  accountId: string;
  /** the account's device generation when its password was checked (or the step-up began) */
  generation: number;
  /** 'step_up': the session is already signed in and only the second factor is asked for */
  purpose: 'login' | 'step_up';
  /** set once enrolment succeeded and the recovery codes were shown */
  enrolled?: boolean;
  /** the password signed in; the page offering a passkey comes before the application */
  offer?: boolean;
}

const PENDING_TTL_SECONDS = 600;

/** "Not now" to the passkey offer holds this long. */
export const PASSKEY_OFFER_QUIET_SECONDS = 30 * 86400;
export const passkeyOfferDeclinedKey = (accountId: string) => `passkey:offer-declined:${accountId}`;

export const pendingKey = (uid: string) => `signin:pending:${uid}`;

/**
 * Sign-in: the password, then — for accounts with two-step verification, or when the client asks
 * for it (acr_values) — a TOTP code or a recovery code, or enrolment. Failed passwords and codes
 * feed the LoginThrottle; a throttled attempt is answered exactly like a wrong one.
 */
/** How a sign-in ended: what goes into the engine's login result. */
export interface SignInOutcomeFor {
  method: SignInMethod;
  amr: readonly string[];
  acr: string;
}

/** The page after a password: a passkey, a code from the app, or setting up the app. */
export type SecondStep = 'passkey' | 'totp' | 'enrol';

export function signInRoutes(router: Router, deps: SignInDependencies, helpers: InteractionHelpers) {
  const { form } = helpers;

  async function pending(ctx: Context, uid: string): Promise<PendingSecondFactor> {
    const raw = await deps.kv.get(pendingKey(uid));
    const state = raw ? (JSON.parse(raw) as Partial<PendingSecondFactor>) : undefined;
    // a step saved before device generations were kept has none: it starts again, like an expired one
    if (typeof state?.accountId !== 'string' || typeof state.generation !== 'number') {
      throw new WordedInvalidRequest('refusal.stepExpired');
    }
    return state as PendingSecondFactor;
  }

  /** A device cookie counts only while the account still trusts that device. */
  async function attemptOf(ctx: Context, accountId: string): Promise<SignInAttempt> {
    return { accountId, deviceId: await trustedDeviceId(ctx, accountId, deps.devices), ip: ctx.ip };
  }

  const savePending = (uid: string, state: PendingSecondFactor) => deps.kv.set(pendingKey(uid), JSON.stringify(state), PENDING_TTL_SECONDS);

  function audit(ctx: Context, event: AuditEvent) {
    return deps.audit.record({ ip: ctx.ip, userAgent: ctx.get('user-agent'), ...event });
  }

  async function recordFailure(ctx: Context, attempt: SignInAttempt, clientId: string, reason: string) {
    countSignIn('failure', reason === 'wrong_code' ? 'totp' : reason === 'wrong_recovery_code' ? 'recovery_code' : 'password');
    const outcome = await deps.throttle.recordFailure(attempt);
    await audit(ctx, { type: 'login.failed', accountId: attempt.accountId, clientId, details: { reason } });
    if (outcome.lockedNow) {
      await audit(ctx, { type: 'login.locked', accountId: attempt.accountId, clientId, details: { scope: outcome.scope, waitSeconds: outcome.waitSeconds } });
    }
  }

  /** `autofill: false` after a refused passkey, so that the browser does not offer the same one straight away */
  async function renderLogin(ctx: Context, uid: string, client: { clientName: string; client: ClientPresentation }, login: string, error?: string, options: { autofill: boolean } = { autofill: true }) {
    // a fresh challenge with every form: the passkey button and the browser's autofill sign in with it
    const passkeyOptions = deps.passkeys.available ? JSON.stringify(await deps.passkeys.authenticationOptions(`signin:${uid}`)) : undefined;
    ctx.type = 'html';
    ctx.body = deps.views.render('login', {
      title: translatorOf(ctx).t('login.title'),
      action: `${INTERACTION_PATH}/${uid}/login`,
      abortAction: `${INTERACTION_PATH}/${uid}/abort`,
      passkeyAction: `${INTERACTION_PATH}/${uid}/passkey`,
      passkeyOptions,
      passkeyAutofill: options.autofill,
      csrfToken: csrfToken(ctx),
      ...client,
      login,
      error,
      // the pages they lead to offer the way back to this sign-in
      resetLink: deps.links.reset && `${deps.links.reset}?return=${encodeURIComponent(uid)}`,
      registerLink: deps.links.register && `${deps.links.register}?return=${encodeURIComponent(uid)}`,
    }, languageOf(ctx));
  }

  async function renderSecondFactor(ctx: Context, uid: string, clientName: string, recovery: boolean, error?: string) {
    const state = await pending(ctx, uid);
    const passkeyLink = (await deps.passkeys.count(state.accountId)) > 0 ? `${INTERACTION_PATH}/${uid}/passkey` : undefined;
    ctx.type = 'html';
    ctx.body = deps.views.render('second-factor', {
      title: translatorOf(ctx).t('secondFactor.title'),
      action: `${INTERACTION_PATH}/${uid}/totp`,
      abortAction: `${INTERACTION_PATH}/${uid}/abort`,
      csrfToken: csrfToken(ctx),
      clientName,
      recovery,
      switchLink: `${INTERACTION_PATH}/${uid}/totp${recovery ? '' : '?recovery=1'}`,
      passkeyLink,
      error,
    }, languageOf(ctx));
  }

  async function renderEnrol(ctx: Context, interaction: InteractionDetails, account: Account, error?: string) {
    // a reload or a wrong code keeps the secret the user may already have scanned
    const label = account.email ?? account.username;
    const enrolment = (await deps.totp.pendingEnrolment(account.id, label)) ?? (await deps.totp.beginEnrolment(account.id, label));
    ctx.type = 'html';
    ctx.body = deps.views.render('enrol', {
      title: translatorOf(ctx).t('enrol.title'),
      action: `${INTERACTION_PATH}/${interaction.uid}/enrol`,
      abortAction: `${INTERACTION_PATH}/${interaction.uid}/abort`,
      csrfToken: csrfToken(ctx),
      clientName: await helpers.clientName(ctx, interaction.params.client_id),
      qrSvg: enrolment.qrSvg,
      secret: enrolment.secret,
      otpauthUri: enrolment.otpauthUri,
      error,
    }, languageOf(ctx));
  }

  /** Ends sign-in for the account with the methods used. */
  async function complete(ctx: Context, state: Pick<PendingSecondFactor, 'accountId' | 'generation'>, clientId: string, method: SignInMethod | SignInOutcomeFor) {
    const outcome: SignInOutcomeFor =
      typeof method === 'object' ? method : method === 'password' ? { method, amr: AMR.password, acr: ACR.password } : { method, amr: AMR.secondFactor, acr: ACR.secondFactor };
    countSignIn('success', outcome.method);
    await deps.throttle.recordSuccess(await attemptOf(ctx, state.accountId));
    await rememberDevice(ctx, state.accountId, state.generation, deps.devices);
    await audit(ctx, { type: 'login.succeeded', accountId: state.accountId, clientId, details: { amr: outcome.amr } });
    await helpers.finish(ctx, { login: { accountId: state.accountId, amr: [...outcome.amr], acr: outcome.acr } }, false);
  }

  /**
   * After a password alone, an account without a passkey is offered one, unless it said "not now"
   * lately; not on the way to /account, whose overview offers it itself.
   */
  async function offersPasskey(accountId: string, clientId: string): Promise<boolean> {
    if (!deps.passkeys.available || clientId === ACCOUNT_CLIENT_ID) return false;
    if (await deps.kv.get(passkeyOfferDeclinedKey(accountId))) return false;
    return (await deps.passkeys.count(accountId)) === 0;
  }

  /** The codes of the app are no answer to a client that asked for a phishing-resistant sign-in. */
  function refuseWithoutPasskey(interaction: InteractionDetails) {
    if (requestsPhishingResistant(interaction.params.acr_values)) throw new WordedInvalidRequest('refusal.passkeyRequired');
  }

  /** A client asking for a phishing-resistant sign-in takes only a passkey; otherwise the app, a passkey, or setting the app up. */
  async function secondStep(accountId: string, acrValues: unknown): Promise<SecondStep> {
    if (requestsPhishingResistant(acrValues)) return 'passkey';
    if (await deps.totp.isEnabled(accountId)) return 'totp';
    return (await deps.passkeys.count(accountId)) > 0 ? 'passkey' : 'enrol';
  }

  return {
    renderLogin,
    pending,
    savePending,
    attemptOf,
    audit,
    complete,

    /** The GET of a login prompt: the password form, or straight to the second factor for a step-up. */
    async show(ctx: Context, interaction: InteractionDetails) {
      const reasons = interaction.prompt.reasons;
      const signedIn = interaction.session?.accountId;
      if (signedIn && reasons.length > 0 && reasons.every((reason) => reason === 'acr_unmet')) {
        const account = await deps.accounts.findById(signedIn);
        if (!account) throw new WordedInvalidRequest('refusal.stepExpired');
        await savePending(interaction.uid, { accountId: signedIn, generation: account.deviceGeneration, purpose: 'step_up' });
        ctx.status = 303;
        ctx.redirect(`${INTERACTION_PATH}/${interaction.uid}/${await secondStep(signedIn, interaction.params.acr_values)}`);
        return;
      }
      await renderLogin(ctx, interaction.uid, await helpers.clientPage(ctx, interaction.params.client_id), typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : '');
    },

    register() {
      router.post('/:uid/login', ...form, async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        const body = ctx.request.body as Record<string, unknown>;
        const login = typeof body.login === 'string' ? body.login.slice(0, 320) : '';
        const password = typeof body.password === 'string' ? body.password.slice(0, 4096) : '';
        const clientId = String(interaction.params.client_id);
        let attempt: SignInAttempt = { accountId: undefined, deviceId: undefined, ip: ctx.ip };
        const verdict =
          login && password
            ? await deps.accounts.verifyLogin(login, password, async (account) => {
                attempt = await attemptOf(ctx, account.id);
                return (await deps.throttle.check(attempt)).locked;
              })
            : { account: undefined, reason: 'unknown_user' as const };
        if (!verdict.account) {
          if (!verdict.named) {
            // no such account: only the IP bucket can say no
            if ((await deps.throttle.check(attempt)).locked) verdict.reason = 'locked';
          }
          if (verdict.reason === 'locked') {
            countSignIn('locked', 'password');
            await audit(ctx, { type: 'login.failed', accountId: attempt.accountId, clientId, details: { reason: 'locked' } });
          } else await recordFailure(ctx, attempt, clientId, verdict.reason ?? 'wrong_password');
          ctx.status = 401;
          await renderLogin(ctx, interaction.uid, await helpers.clientPage(ctx, clientId), login, translatorOf(ctx).t('login.wrongCredentials'));
          return;
        }
        const account = verdict.account;
        const hasTotp = await deps.totp.isEnabled(account.id);
        if (hasTotp || requestsSecondFactor(interaction.params.acr_values)) {
          await savePending(interaction.uid, { accountId: account.id, generation: account.deviceGeneration, purpose: 'login' });
          ctx.status = 303;
          ctx.redirect(`${INTERACTION_PATH}/${interaction.uid}/${await secondStep(account.id, interaction.params.acr_values)}`);
          return;
        }
        if (await offersPasskey(account.id, clientId)) {
          await savePending(interaction.uid, { accountId: account.id, generation: account.deviceGeneration, purpose: 'login', offer: true });
          ctx.status = 303;
          ctx.redirect(`${INTERACTION_PATH}/${interaction.uid}/passkey-offer`);
          return;
        }
        await complete(ctx, { accountId: account.id, generation: account.deviceGeneration }, clientId, 'password');
      });

      router.get('/:uid/totp', async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        refuseWithoutPasskey(interaction);
        await pending(ctx, interaction.uid);
        ctx.set('Cache-Control', 'no-store');
        await renderSecondFactor(ctx, interaction.uid, await helpers.clientName(ctx, interaction.params.client_id), ctx.query.recovery === '1');
      });

      router.post('/:uid/totp', ...form, async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        refuseWithoutPasskey(interaction);
        const state = await pending(ctx, interaction.uid);
        const clientId = String(interaction.params.client_id);
        const body = ctx.request.body as Record<string, unknown>;
        const recovery = typeof body.recovery_code === 'string';
        const attempt = await attemptOf(ctx, state.accountId);
        const locked = (await deps.throttle.check(attempt)).locked;
        let accepted = false;
        if (!locked) {
          accepted = recovery
            ? await deps.recoveryCodes.use(state.accountId, String(body.recovery_code).slice(0, 64))
            : typeof body.code === 'string' && (await deps.totp.verify(state.accountId, body.code.slice(0, 16)));
        }
        if (!accepted) {
          if (locked) {
            countSignIn('locked', recovery ? 'recovery_code' : 'totp');
            await audit(ctx, { type: 'login.failed', accountId: state.accountId, clientId, details: { reason: 'locked', step: 'second_factor' } });
          } else await recordFailure(ctx, attempt, clientId, recovery ? 'wrong_recovery_code' : 'wrong_code');
          ctx.status = 401;
          await renderSecondFactor(ctx, interaction.uid, await helpers.clientName(ctx, clientId), recovery, translatorOf(ctx).t(recovery ? 'secondFactor.wrongRecoveryCode' : 'code.wrong'));
          return;
        }
        if (recovery) {
          await audit(ctx, { type: 'recovery_code.used', accountId: state.accountId, clientId, details: { remaining: await deps.recoveryCodes.remaining(state.accountId) } });
        }
        await deps.kv.del([pendingKey(interaction.uid)]);
        await complete(ctx, state, clientId, recovery ? 'recovery_code' : 'totp');
      });

      router.get('/:uid/enrol', async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        refuseWithoutPasskey(interaction);
        const state = await pending(ctx, interaction.uid);
        if (await deps.totp.isEnabled(state.accountId)) {
          ctx.status = 303;
          ctx.redirect(`${INTERACTION_PATH}/${interaction.uid}/totp`);
          return;
        }
        const account = await deps.accounts.findById(state.accountId);
        if (!account) throw new WordedInvalidRequest('refusal.stepExpired');
        ctx.set('Cache-Control', 'no-store');
        await renderEnrol(ctx, interaction, account);
      });

      router.post('/:uid/enrol', ...form, async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        refuseWithoutPasskey(interaction);
        const state = await pending(ctx, interaction.uid);
        const clientId = String(interaction.params.client_id);
        const account = await deps.accounts.findById(state.accountId);
        if (!account) throw new WordedInvalidRequest('refusal.stepExpired');
        const code = (ctx.request.body as Record<string, unknown>).code;
        const attempt = await attemptOf(ctx, state.accountId);
        const locked = (await deps.throttle.check(attempt)).locked;
        if (locked || typeof code !== 'string' || !(await deps.totp.confirmEnrolment(state.accountId, code.slice(0, 16)))) {
          if (!locked) await recordFailure(ctx, attempt, clientId, 'wrong_code');
          ctx.status = 401;
          ctx.set('Cache-Control', 'no-store');
          await renderEnrol(ctx, interaction, account, translatorOf(ctx).t('code.wrong'));
          return;
        }
        const codes = await deps.recoveryCodes.generate(state.accountId);
        await audit(ctx, { type: 'second_factor.enrolled', accountId: state.accountId, clientId, details: { method: 'totp', during: 'sign_in' } });
        await savePending(interaction.uid, { ...state, enrolled: true });
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'html';
        const t = translatorOf(ctx).t;
        ctx.body = deps.views.render('recovery-codes', {
          title: t('recoveryCodes.title'),
          codes,
          action: `${INTERACTION_PATH}/${interaction.uid}/enrolled`,
          csrfToken: csrfToken(ctx),
          continueLabel: t('recoveryCodes.continue', { client: await helpers.clientName(ctx, clientId) }),
        }, languageOf(ctx));
      });

      router.post('/:uid/enrolled', ...form, async (ctx) => {
        const interaction = await helpers.details(ctx, 'login');
        refuseWithoutPasskey(interaction);
        const state = await pending(ctx, interaction.uid);
        if (!state.enrolled) throw new WordedInvalidRequest('refusal.twoStepNotSetUp');
        await deps.kv.del([pendingKey(interaction.uid)]);
        await complete(ctx, state, String(interaction.params.client_id), 'totp');
      });
    },
  };
}
