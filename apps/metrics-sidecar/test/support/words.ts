/**
 * A distinct lowercase word per integer (`0` → `q`, `27` → `br`, …): the kind of segment no
 * collapsing rule can tell from a real one, as a scanner's random paths are.
 */
export function word(i: number): string {
  return i.toString(26).replace(/[0-9]/g, (d) => 'qrstuvwxyz'[Number(d)] as string);
}
