import type { BrandSettings } from '../config.ts';
import { BLACK, buttonTextFor, mix, WHITE } from './colours.ts';

function shades(accent: string) {
  const text = buttonTextFor(accent);
  // hovering moves the button away from its text colour, so the contrast only grows
  const hover = mix(accent, text === WHITE ? BLACK : WHITE, 0.15);
  return `--accent: ${accent}; --accent-hover: ${hover}; --accent-text: ${text}; --ring: ${accent}73;`;
}

/**
 * The operator's colours over style.css's own: served from Postern's origin as a stylesheet
 * (the pages' CSP allows no inline style). The buttons' text is white or black, whichever
 * reaches WCAG AA's 4.5:1 on the colour; config refused colours that do not stand out from the card.
 */
export function brandStylesheet(accent: NonNullable<BrandSettings['accent']>): string {
  return [
    `:root { ${shades(accent.light)} }`,
    `@media (prefers-color-scheme: dark) { :root { ${shades(accent.dark)} } }`,
    '',
  ].join('\n');
}
