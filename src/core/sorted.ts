/** Ascending arrays of numbers used as sorted sets (slice starts, timer page starts). */

/** Index of the first element ≥ x in an ascending array (searching from `from`). */
export function lowerBound(arr: readonly number[], x: number, from = 0): number {
  let lo = from;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether an ascending array holds x (the newest element is checked first: where records usually land). */
export function hasSorted(arr: readonly number[], x: number): boolean {
  const n = arr.length;
  if (n === 0 || arr[n - 1]! < x) return false;
  if (arr[n - 1] === x) return true;
  return arr[lowerBound(arr, x)] === x;
}

/** Inserts x into an ascending array unless present; returns whether it was inserted. */
export function insertSorted(arr: number[], x: number): boolean {
  const n = arr.length;
  if (n === 0 || arr[n - 1]! < x) {
    arr.push(x);
    return true;
  }
  const i = lowerBound(arr, x);
  if (arr[i] === x) return false;
  arr.splice(i, 0, x);
  return true;
}

/** Removes x from an ascending array if present. */
export function removeSorted(arr: number[], x: number): void {
  const i = lowerBound(arr, x);
  if (arr[i] === x) arr.splice(i, 1);
}
