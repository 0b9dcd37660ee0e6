// WCAG 2.x contrast of an accent colour with the white text drawn on it: a hint while typing
// (the server measures the same and refuses under 4.5:1, omnidesk.branding.contrast).
export const MIN_CONTRAST = 4.5;
const HEX = /^#[0-9a-fA-F]{6}$/;

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** The contrast ratio of white on `hex` (#rrggbb), or null for anything else. */
export function contrastWithWhite(hex: string): number | null {
  if (!HEX.test(hex)) return null;
  const [r, g, b] = [1, 3, 5].map((i) => channel(parseInt(hex.slice(i, i + 2), 16)));
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (luminance + 0.05);
}

export function readableOnWhiteText(hex: string): boolean {
  const ratio = contrastWithWhite(hex);
  return ratio !== null && ratio >= MIN_CONTRAST;
}
