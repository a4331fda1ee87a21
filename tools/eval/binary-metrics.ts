/**
 * Binary classification metrics as the model cards define them (models/<id>/evaluate.py):
 * tie-aware rank AUC (Mann–Whitney), and accuracy / sensitivity / specificity of
 * `probability >= threshold`.
 */

/** A binary classifier's numbers on one labelled test set. */
export interface BinaryMetrics {
  readonly n: number;
  readonly positives: number;
  readonly auc: number;
  readonly accuracy: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

/** AUC with mid-ranks for ties; NaN when one class is absent. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (scores.length !== n) throw new RangeError(`${n} labels but ${scores.length} scores`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k] as number] = mid;
    i = j + 1;
  }
  let n1 = 0;
  let rankSum = 0;
  for (let k = 0; k < n; k++) {
    if (labels[k] === 1) {
      n1++;
      rankSum += ranks[k] as number;
    }
  }
  const n0 = n - n1;
  if (n0 === 0 || n1 === 0) return Number.NaN;
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n0 * n1);
}

/**
 * Counts and metrics of `probability >= threshold` against the labels.
 *
 * @param labels - 1 = positive (the reported finding), 0 = negative
 * @param probabilities - calibrated probability of the positive class
 * @param threshold - positive when probability ≥ threshold (the manifest's rule)
 */
export function binaryMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number): BinaryMetrics {
  let tp = 0;
  let tn = 0;
  let pos = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const positive = (probabilities[i] as number) >= threshold;
    if (labels[i] === 1) {
      pos++;
      if (positive) tp++;
    } else if (!positive) tn++;
  }
  return {
    n,
    positives: pos,
    auc: rocAuc(labels, probabilities),
    accuracy: (tp + tn) / n,
    sensitivity: tp / pos,
    specificity: tn / (n - pos),
  };
}
