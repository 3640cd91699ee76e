/** A stored (normalised) user code as the device shows it: `BCDFGHJK` → `BCDF-GHJK`. */
export function displayUserCode(normalised: string): string {
  return normalised.length === 8 ? `${normalised.slice(0, 4)}-${normalised.slice(4)}` : normalised;
}
