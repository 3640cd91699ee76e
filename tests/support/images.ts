/** Small real images for the logo tests: a browser can draw them, the sniffer reads their first bytes. */

/** A 32×32 PNG: an orange disc on white. */
export const PNG_LOGO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAaklEQVR4nO3WTRIAEAiA0Q7ggu6/cQu2hvJTYVBj/b1dgrh44AMgeNd+fKCbHmFIYKreMHCAUacMBGDXUaMEhPXaAPV6YWwEFOu5YYABBrwF3L/sFI08uP1HExp16tBVwTCoyNHLTmWWAwmSzvC61YAB1wAAAABJRU5ErkJggg==',
  'base64',
);

/** A WebP's first bytes: enough for the type check, not for drawing. */
export const WEBP_LOGO = Buffer.concat([Buffer.from('RIFF\x1a\x00\x00\x00WEBPVP8L', 'latin1'), Buffer.alloc(14)]);

export const SVG_LOGO = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(document.domain)</script><rect width="10" height="10"/></svg>');

export const GIF_LOGO = Buffer.from('R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=', 'base64');
