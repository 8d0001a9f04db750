/** Device token number `i`: 64 hex characters, distinct per index, the same in every process. */
export function benchToken(i: number): string {
  return i.toString(16).padStart(64, '0');
}
