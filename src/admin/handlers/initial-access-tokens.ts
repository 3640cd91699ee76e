import type { InitialAccessTokenSummary } from '../../domain/initial-access-tokens.ts';
import { memoryPage, pageRequest } from '../pagination.ts';
import { auditChange, iso, type Handler, type HandlerDependencies } from './types.ts';

function tokenJson(token: InitialAccessTokenSummary) {
  return { id: token.id, description: token.description, createdAt: iso(token.createdAt), expiresAt: iso(token.expiresAt), usesLeft: token.usesLeft, uses: token.uses };
}

interface TokenBody {
  description?: string;
  ttlSeconds?: number;
  maxUses?: number;
}

/** Initial access tokens for dynamic client registration (RFC 7591 §3). */
export function initialAccessTokenHandlers(deps: HandlerDependencies): Record<string, Handler> {
  const { initialAccessTokens } = deps.services;
  return {
    async listInitialAccessTokens(request) {
      return { status: 200, body: memoryPage(pageRequest(request.query), await initialAccessTokens.list(), (token) => token.id, tokenJson) };
    },
    async createInitialAccessToken(request) {
      const input = (request.body ?? {}) as TokenBody;
      const { token, value } = await initialAccessTokens.create(input);
      await auditChange(deps, request, { type: 'registration_token.created', details: { id: token.id, expiresAt: iso(token.expiresAt), maxUses: token.usesLeft } });
      return { status: 201, body: { ...tokenJson(token), value } };
    },
    async revokeInitialAccessToken(request) {
      const id = request.path.tokenId as string;
      await initialAccessTokens.revoke(id);
      await auditChange(deps, request, { type: 'registration_token.revoked', details: { id } });
      return { status: 204 };
    },
  };
}
