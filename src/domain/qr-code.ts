import QRCode from 'qrcode';

const ACCESSIBLE_NAME = 'QR code to scan with an authenticator app';

/**
 * `text` as a QR code in SVG markup, to be placed inline in a page: no script, no style
 * attribute and no external reference, so it passes a CSP that allows none of them.
 */
export async function renderQrSvg(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  return svg.trim().replace(/^<svg /, `<svg role="img" aria-label="${ACCESSIBLE_NAME}" `);
}
