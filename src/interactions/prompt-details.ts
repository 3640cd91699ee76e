import type { Provider } from 'oidc-provider';
import type { ResourceServers } from '../domain/resource-servers.ts';
import { permissionLines } from '../pages/language/permissions.ts';
import type { Translator } from '../pages/language/translator.ts';

export type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface ConsentRequest {
  missingOIDCScope: string[];
  missingOIDCClaims: string[];
  missingResourceScopes: Record<string, string[]>;
}

export function consentRequest(details: InteractionDetails): ConsentRequest {
  const prompt = details.prompt.details as Partial<ConsentRequest>;
  return {
    missingOIDCScope: prompt.missingOIDCScope ?? [],
    missingOIDCClaims: prompt.missingOIDCClaims ?? [],
    missingResourceScopes: prompt.missingResourceScopes ?? {},
  };
}

/** What the consent page says the application will receive, in plain words. */
export async function describeConsent(request: ConsentRequest, resourceServers: ResourceServers, translator: Translator) {
  const permissions = permissionLines(translator, request.missingOIDCScope, request.missingOIDCClaims);
  const apis = await Promise.all(
    Object.entries(request.missingResourceScopes).map(async ([identifier, scopes]) => {
      const server = await resourceServers.find(identifier);
      const described = scopes.map((scope) => server?.scopes.find((s) => s.scope === scope)?.description || scope);
      return { name: server?.name ?? identifier, scopes: described };
    }),
  );
  return { permissions, apis };
}
