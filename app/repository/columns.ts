/** Space-separated list column ⇄ array. */
export function splitList(value: string | null | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}
