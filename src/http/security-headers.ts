import type { Middleware } from 'koa';

/**
 * `script-src 'self'`: Postern's only scripts are its own files under /assets (the passkey
 * ceremonies); no page carries an inline one. The engine's auto-submitting pages
 * (response_mode=form_post, account switch, logout) append the hash of their one inline script
 * to an existing script-src — without one, their form never submits.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self' *",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Strict headers on every response; HSTS when the issuer is https. */
export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async (ctx, next) => {
    // set before the engine runs, so that it can extend script-src for its own inline script
    ctx.set('Content-Security-Policy', CSP);
    await next();
    // a file that set its own policy (an SVG logo's sandbox) keeps it
    if (!ctx.response.is('html') && ctx.response.get('Content-Security-Policy') === CSP) ctx.remove('Content-Security-Policy');
    else if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  };
}
