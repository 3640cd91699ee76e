/**
 * The refresh_token grant, forked from oidc-provider 9.13.3 lib/actions/grants/refresh_token.js.
 *
 * Deviations (each marked "Postern:" below):
 * 1. Durable writes come last. The engine consumes the presented token and saves its successor
 *    first, then saves the access token in the ephemeral tier; when that failed (Redis down) the
 *    client was left holding a consumed token, and its retry revoked the grant. Here the access
 *    token is saved and the ID token signed first, and only then is the presented token consumed
 *    and its successor stored, in one statement (RefreshTokenRotation.commit). A failure before
 *    that leaves the presented token as it was.
 * 2. The successor's value is derived from the presented one (RefreshTokenRotation.successorOf):
 *    every request that rotates one token names the same successor, so a chain cannot branch, and
 *    of concurrent requests exactly one rotates while the others answer with that same successor.
 * 3. Reuse interval (RFC 9700 §4.14.2 leaves the detail to the server): a rotated token presented
 *    again by its own client (with the same DPoP key when bound) within `reuseIntervalSeconds` of
 *    its rotation, while its successor is still unused, is answered with that successor and a new
 *    access token — the retry of a client whose response was lost. Any other reuse revokes the
 *    grant, as upstream.
 * 4. Always rotates (Postern sets `rotateRefreshToken: true`); mTLS certificate binding and
 *    attestation-based client authentication, which Postern does not enable, are left out.
 */
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import {
  checkAccountMismatch,
  createAccessToken,
  issueIdToken,
  revokeGrant,
  validateAccount,
  type GrantHelpers,
} from '../engine-internals.ts';
import type { RefreshTokenRotation } from './refresh-token-rotation.ts';
import { countRefreshReuse } from '../../metrics/index.ts';

type RefreshToken = InstanceType<Provider['RefreshToken']>;

const GRANT_TYPE = 'refresh_token';

export const parameters = new Set(['refresh_token', 'scope']);

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function refreshTokenHandler(provider: Provider, helpers: GrantHelpers, rotation: RefreshTokenRotation) {
  const { RefreshToken } = provider;

  /** Postern: the successor a retry or a racing request may have, when the interval allows it. */
  async function unusedSuccessor(presented: RefreshToken): Promise<RefreshToken | undefined> {
    const consumedAt = Number(presented.consumed);
    if (rotation.reuseIntervalSeconds === 0 || !(epochSeconds() - consumedAt <= rotation.reuseIntervalSeconds)) return undefined;
    const successor = await RefreshToken.find(rotation.successorOf(presented.jti));
    return successor?.isValid ? successor : undefined;
  }

  /** Postern: the successor as an unsaved token; its value is fixed by the presented one. */
  function nextToken(presented: RefreshToken, client: NonNullable<KoaContextWithOIDC['oidc']['client']>): RefreshToken {
    const next = new RefreshToken({
      accountId: presented.accountId,
      acr: presented.acr,
      amr: presented.amr,
      authTime: presented.authTime,
      claims: presented.claims,
      client,
      expiresWithSession: presented.expiresWithSession,
      iiat: presented.iiat,
      grantId: presented.grantId!,
      gty: presented.gty && !presented.gty.endsWith(GRANT_TYPE) ? `${presented.gty} ${GRANT_TYPE}` : (presented.gty ?? GRANT_TYPE),
      nonce: presented.nonce,
      resource: presented.resource,
      rotations: typeof presented.rotations === 'number' ? presented.rotations + 1 : 1,
      scope: presented.scope!,
      sessionUid: presented.sessionUid,
      sid: presented.sid,
      rar: presented.rar,
      jkt: presented.jkt,
    });
    next.jti = rotation.successorOf(presented.jti);
    return next;
  }

  return async function handleRefreshToken(ctx: KoaContextWithOIDC): Promise<void> {
    const { params } = ctx.oidc;
    const client = ctx.oidc.client!;
    const presentedValue = params!.refresh_token;
    if (typeof presentedValue !== 'string' || presentedValue === '') {
      throw new errors.InvalidRequest("missing required parameter 'refresh_token'");
    }

    const dPoP = await helpers.validateDpop(ctx);

    const presented = await RefreshToken.find(presentedValue, { ignoreExpiration: true });
    if (!presented) throw new errors.InvalidGrant('refresh token not found');
    if (presented.clientId !== client.clientId) throw new errors.InvalidGrant('client mismatch');
    if (presented.isExpired) throw new errors.InvalidGrant('refresh token is expired');

    helpers.checkDpopRequired(ctx, dPoP);

    const grant = await helpers.validateGrant(ctx, presented.grantId);

    const requestedScopes = typeof params!.scope === 'string' && params!.scope ? ctx.oidc.requestParamScopes : undefined;
    if (requestedScopes) {
      const missing = [...requestedScopes].filter((scope) => !presented.scopes.has(scope));
      if (missing.length !== 0) {
        throw new errors.InvalidScope(`refresh token missing requested ${missing.length === 1 ? 'scope' : 'scopes'}`, missing.join(' '));
      }
    }

    await helpers.checkDpopReplay(ctx, dPoP, client.clientId, errors.InvalidGrant);

    if (presented.jkt && (!dPoP || presented.jkt !== dPoP.thumbprint)) {
      throw new errors.InvalidGrant('failed jkt verification');
    }

    ctx.oidc.entity('RefreshToken', presented);
    ctx.oidc.entity('Grant', grant);

    const account = await validateAccount(provider, ctx, presented, 'refresh token');
    checkAccountMismatch(presented, grant);
    ctx.oidc.entity('Account', account);

    // Postern: a rotated token answers with its unused successor within the reuse interval.
    let successor: RefreshToken;
    let alreadyStored = false;
    if (presented.consumed) {
      const unused = await unusedSuccessor(presented);
      if (!unused) {
        countRefreshReuse();
        await Promise.all([presented.destroy(), revokeGrant(ctx, presented.grantId)]);
        throw new errors.InvalidGrant('refresh token already used');
      }
      successor = unused;
      alreadyStored = true;
    } else {
      successor = nextToken(presented, client);
    }
    ctx.oidc.entity('RotatedRefreshToken', presented);
    ctx.oidc.entity('RefreshToken', successor);

    const at = createAccessToken(
      provider,
      ctx,
      {
        accountId: account.accountId,
        expiresWithSession: successor.expiresWithSession,
        grantId: successor.grantId,
        sessionUid: successor.sessionUid,
        sid: successor.sid,
      },
      successor.gty,
    );
    if (dPoP) (at as unknown as { setThumbprint(prop: string, input: string): void }).setThumbprint('jkt', dPoP.thumbprint);

    const scope = requestedScopes ?? successor.scopes;
    await helpers.resolveAndApplyResource(ctx, successor, at, grant, scope);
    await helpers.applyAuthorizationDetails(ctx, at, successor);

    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();
    const idToken = await issueIdToken(provider, ctx, successor, at, grant, scope);

    // Postern: the durable change comes last, and is one statement.
    if (!alreadyStored) {
      const expiresIn = successor.remainingTTL;
      const { payload } = await (successor as unknown as { getValueAndPayload(): Promise<{ payload: Record<string, unknown> }> }).getValueAndPayload();
      if (await rotation.commit(presented.jti, successor.jti, payload, expiresIn)) {
        presented.emit('consumed');
        successor.emit('saved');
      } else {
        // another request rotated it first: its successor is this one, unless already used since
        const stored = await RefreshToken.find(successor.jti);
        if (!stored?.isValid) throw new errors.InvalidGrant('refresh token already used');
      }
    }

    ctx.body = helpers.buildTokenResponse({
      accessToken,
      authorizationDetails: (at as { rar?: unknown }).rar,
      expiresIn: at.expiration,
      idToken,
      refreshToken: successor.jti,
      scope: successor.scope ? at.scope : at.scope || undefined,
      tokenType: (at as unknown as { tokenType: string }).tokenType,
    });
  };
}
