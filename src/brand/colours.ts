/** sRGB colours as `#rrggbb`, and the WCAG 2.2 contrast arithmetic the brand settings are checked with. */

const HEX = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i;

/** `#abc` or `#aabbcc` (the `#` optional) as lower-case `#aabbcc`; undefined when it is neither. */
export function parseHexColour(raw: string): string | undefined {
  const match = HEX.exec(raw.trim());
  if (!match) return undefined;
  const digits = match[1]!.length === 3 ? [...match[1]!].map((digit) => digit + digit).join('') : match[1]!;
  return `#${digits.toLowerCase()}`;
}

function channels(hex: string): [number, number, number] {
  return [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16)) as [number, number, number];
}

/** WCAG 2.2 relative luminance. */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((value) => {
    const c = value / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.2 contrast ratio, 1 to 21. */
export function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

export const WHITE = '#ffffff';
export const BLACK = '#000000';

/**
 * The text colour for a button of this background: white when it reaches 4.5:1 (WCAG AA),
 * else black — which then always does (the two meet at a luminance where both give 4.58:1).
 */
export function buttonTextFor(background: string): string {
  return contrast(background, WHITE) >= 4.5 ? WHITE : BLACK;
}

/** `amount` (0–1) of the way from `from` to `to`: the hover shade moves away from the text colour. */
export function mix(from: string, to: string, amount: number): string {
  const a = channels(from);
  const b = channels(to);
  return `#${a.map((value, i) => Math.round(value + (b[i]! - value) * amount).toString(16).padStart(2, '0')).join('')}`;
}
