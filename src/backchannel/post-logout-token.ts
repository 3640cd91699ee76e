/** Why an attempt did not reach the application; the message is what `last_error` shows. */
export class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return `could not connect (${cause.code})`;
  return `request failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200);
}

/**
 * The Back-Channel Logout request (§2.5): a form POST of `logout_token`. Defensive: bounded by
 * `timeoutMs`, redirects are not followed (a 3xx is a failure), the response body is not read.
 * Success is 200 or 204 (§2.8 asks for 200; the engine accepts 204 too).
 */
export async function postLogoutToken(uri: string, logoutToken: string, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(uri, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
      body: new URLSearchParams({ logout_token: logoutToken }),
    });
  } catch (error) {
    throw new DeliveryFailed(describe(error, timeoutMs), { cause: error });
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 200 || response.status === 204) return;
  const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
  throw new DeliveryFailed(`answered ${response.status}${redirect}`);
}
