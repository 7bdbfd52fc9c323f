/** "Did you mean" for misspelt input names and flags. */

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The candidate closest to `word` by edit distance, or undefined when none is plausibly meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const normal = word.toLowerCase().replaceAll('_', '-');
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = candidate.startsWith(normal) && normal.length >= 3 ? 1 : distance(normal, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Beyond about a third of the word, a suggestion is noise.
  return bestDistance <= Math.max(2, Math.ceil(normal.length / 3)) ? best : undefined;
}
