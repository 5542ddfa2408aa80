/**
 * A small model in plain TypeScript: logistic regression on standardised features, fitted by
 * full-batch gradient descent with L2 regularisation; and its evaluation (F1, accuracy, AUC,
 * precision, recall, log loss). Deterministic: the same data and parameters give the same
 * weights.
 * @module
 */
import { column, type NumericTable } from './pipeline.js';

/** Training parameters. */
export interface TrainParams {
  /** The features to use. @default every column but the label and `pickup_ts` */
  features?: string[];
  /** @default 'high_tip' */
  label?: string;
  /** Gradient steps over the whole training set. @default 300 */
  epochs?: number;
  /** @default 0.5 */
  learningRate?: number;
  /** L2 penalty on the weights (not the bias). @default 0.001 */
  l2?: number;
  /** Probability at or above which the model predicts 1. @default 0.5 */
  threshold?: number;
}

/** A fitted model, as saved to `model.json`. */
export interface LogisticModel {
  kind: 'logistic-regression';
  features: string[];
  label: string;
  means: number[];
  stds: number[];
  weights: number[];
  bias: number;
  threshold: number;
  params: Required<Omit<TrainParams, 'features' | 'label'>>;
  trainingRows: number;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Fits a logistic regression. */
export function trainLogisticRegression(table: NumericTable, params: TrainParams = {}): LogisticModel {
  const label = params.label ?? 'high_tip';
  const features = params.features ?? table.columns.filter((c) => c !== label && c !== 'pickup_ts');
  const epochs = params.epochs ?? 300;
  const learningRate = params.learningRate ?? 0.5;
  const l2 = params.l2 ?? 0.001;
  const threshold = params.threshold ?? 0.5;
  if (features.length === 0) throw new RangeError('a model needs at least one feature');
  const y = column(table, label);
  const xs = features.map((f) => column(table, f));
  const n = y.length;
  if (n === 0) throw new RangeError('no training rows');
  const means = xs.map((x) => x.reduce((s, v) => s + v, 0) / n);
  const stds = xs.map((x, j) => {
    const m = means[j]!;
    const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) * (v - m), 0) / n);
    return sd > 0 ? sd : 1;
  });
  // Row-major standardised matrix, for a tight inner loop.
  const d = features.length;
  const z = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const x = xs[j]!;
    for (let i = 0; i < n; i++) z[i * d + j] = (x[i]! - means[j]!) / stds[j]!;
  }
  const w = new Float64Array(d);
  let b = 0;
  const grad = new Float64Array(d);
  for (let epoch = 0; epoch < epochs; epoch++) {
    grad.fill(0);
    let gradB = 0;
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < d; j++) s += w[j]! * z[i * d + j]!;
      const err = sigmoid(s) - y[i]!;
      gradB += err;
      for (let j = 0; j < d; j++) grad[j]! += err * z[i * d + j]!;
    }
    for (let j = 0; j < d; j++) w[j]! -= learningRate * (grad[j]! / n + l2 * w[j]!);
    b -= learningRate * (gradB / n);
  }
  return {
    kind: 'logistic-regression',
    features,
    label,
    means,
    stds,
    weights: [...w],
    bias: b,
    threshold,
    params: { epochs, learningRate, l2, threshold },
    trainingRows: n,
  };
}

/** The model's probability of a high tip for each row of a table. */
export function predictProba(model: LogisticModel, table: NumericTable): number[] {
  const xs = model.features.map((f) => column(table, f));
  const n = table.rows.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = model.bias;
    for (let j = 0; j < model.features.length; j++) {
      s += model.weights[j]! * ((xs[j]![i]! - model.means[j]!) / model.stds[j]!);
    }
    out.push(sigmoid(s));
  }
  return out;
}

/** The area under the ROC curve: the probability a positive scores above a negative (ties count half). */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  const pairs = labels.map((label, i) => ({ label, score: scores[i]! })).sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < pairs.length) {
    let j = i;
    while (j + 1 < pairs.length && pairs[j + 1]!.score === pairs[i]!.score) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (pairs[k]!.label === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = pairs.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** What {@link evaluate} reports. */
export interface Evaluation {
  f1: number;
  accuracy: number;
  auc: number;
  precision: number;
  recall: number;
  log_loss: number;
  positive_rate: number;
  rows: number;
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : x;
}

/** Evaluates a model on a labelled table. */
export function evaluate(model: LogisticModel, table: NumericTable): Evaluation {
  const y = column(table, model.label);
  const p = predictProba(model, table);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let logLoss = 0;
  for (let i = 0; i < y.length; i++) {
    const predicted = p[i]! >= model.threshold ? 1 : 0;
    if (predicted === 1 && y[i] === 1) tp++;
    else if (predicted === 1) fp++;
    else if (y[i] === 1) fn++;
    else tn++;
    const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]!));
    logLoss -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    f1: round(f1),
    accuracy: round((tp + tn) / y.length),
    auc: round(rocAuc(y, p)),
    precision: round(precision),
    recall: round(recall),
    log_loss: round(logLoss / y.length),
    positive_rate: round((tp + fn) / y.length),
    rows: y.length,
  };
}
