import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { DeviceFlowSettings } from '../../config.ts';
import { ACCOUNT_PATH } from '../../interactions/paths.ts';
import type { Views } from '../../interactions/views.ts';
import { AbortedError, AlreadyUsedError, ExpiredError, NoCodeError, NotFoundError } from '../engine-internals.ts';
import type { MessageKey } from '../../pages/language/catalogs.ts';
import { useRequestLanguage } from '../../pages/language/page-language.ts';
import { prefillOf, setOutcome, type DeviceFlowOutcome } from './outcome.ts';

type DeviceFlowFeature = NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;

/** 20 consonants, no vowels (no words) and no digits (no 0/O, 1/I): 8 of them are ~34.6 bits. */
export const USER_CODE_CHARSET = 'base-20';
export const USER_CODE_MASK = '****-****';

function failureOf(err: unknown, status: number): { message: MessageKey; outcome?: DeviceFlowOutcome } {
  if (err instanceof NotFoundError) return { message: 'device.code.wrong', outcome: { kind: 'wrong_code', reason: 'not_found' } };
  if (err instanceof ExpiredError) return { message: 'device.code.expired', outcome: { kind: 'wrong_code', reason: 'expired' } };
  if (err instanceof AlreadyUsedError) return { message: 'device.code.used', outcome: { kind: 'wrong_code', reason: 'already_used' } };
  if (err instanceof NoCodeError) return { message: 'device.code.lead' };
  // the engine's other refusals here are a missing or stale form token (its session)
  return { message: status >= 500 ? 'device.code.unavailable' : 'device.code.formExpired' };
}

/** The page's language: a device's request may name one (ui_locales), as an application's may. */
function pageLanguage(ctx: KoaContextWithOIDC) {
  return useRequestLanguage(ctx, (ctx.oidc?.params as Record<string, unknown> | undefined)?.ui_locales);
}

function clientNameOf(ctx: KoaContextWithOIDC): string | undefined {
  const client = ctx.oidc.client as unknown as { clientName?: string; clientId?: string } | undefined;
  return client?.clientName ?? client?.clientId;
}

function who(ctx: KoaContextWithOIDC): { accountId: string | undefined; clientId: string | undefined } {
  return { accountId: ctx.oidc.session?.accountId ?? undefined, clientId: ctx.oidc.client?.clientId ?? ctx.oidc.entities.DeviceCode?.clientId };
}

/**
 * The engine's device flow (RFC 8628) with Postern's pages: the code page, the confirmation that
 * the code is the device's, and the end pages. Sign-in and consent in between are the ordinary
 * interaction pages. The forms carry the engine's own form token (`xsrf`, bound to its session).
 */
export function deviceFlowConfiguration(views: Views, settings: Pick<DeviceFlowSettings, 'enabled'>): DeviceFlowFeature {
  return {
    enabled: settings.enabled,
    charset: USER_CODE_CHARSET,
    mask: USER_CODE_MASK,
    userCodeInputSource(ctx, _form, _out, err) {
      const xsrf = String(ctx.oidc.session?.state?.secret ?? '');
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      if (err instanceof AbortedError) {
        ctx.status = 200;
        setOutcome(ctx, { kind: 'denied', ...who(ctx) });
        ctx.body = views.render('device-done', { outcome: 'denied', clientName: clientNameOf(ctx), accountLink: ACCOUNT_PATH }, pageLanguage(ctx));
        return;
      }
      const failure = err ? failureOf(err, ctx.status) : undefined;
      if (failure?.outcome) {
        ctx.status = 400;
        setOutcome(ctx, failure.outcome);
      }
      const typed = err && 'userCode' in err && typeof err.userCode === 'string' ? err.userCode.slice(0, 32) : undefined;
      const language = pageLanguage(ctx);
      ctx.body = views.render(
        'device-code',
        { action: ctx.oidc.urlFor('code_verification'), xsrf, userCode: typed ?? prefillOf(ctx), error: failure && language.translator.t(failure.message) },
        language,
      );
    },
    userCodeConfirmSource(ctx, _form, client, _deviceInfo, userCode) {
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = views.render('device-confirm', {
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: String(ctx.oidc.session?.state?.secret ?? ''),
        userCode,
        clientName: client.clientName ?? client.clientId,
      }, pageLanguage(ctx));
    },
    successSource(ctx) {
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      setOutcome(ctx, { kind: 'approved', ...who(ctx) });
      ctx.body = views.render('device-done', { outcome: 'approved', clientName: clientNameOf(ctx), accountLink: ACCOUNT_PATH }, pageLanguage(ctx));
    },
  };
}
