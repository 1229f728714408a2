import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { KronosMissingError, PythonMissingError, PythonPackagesMissingError, TrainingJobError } from './errors.js';

/**
 * The Python side, as a subprocess: a check that the interpreter can train at all, and one
 * `python3 -m kronos train …` run whose stdout carries one JSON object per line (the protocol of
 * models/kronos/kronos/train.py) and whose stderr is kept as a tail for failure messages.
 */

/** One line of the training protocol: a step (`stage`, `epoch`, `step`, `loss`, `rate`, `eta_s`, …) or an event (`event`: start, val, stage_done, done). */
export interface TrainingLine {
  stage: string;
  event?: string;
  epoch?: number;
  step?: number;
  total_steps?: number;
  loss?: number;
  rate?: number;
  eta_s?: number;
  [field: string]: unknown;
}

export interface TrainingRunOptions {
  python: string;
  cwd: string;
  args: string[];
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL after an abort. */
  killGraceMs: number;
  onLine(line: TrainingLine): void;
}

export interface TrainingRunResult {
  /** The final `done` line. */
  done: TrainingLine | undefined;
  stderrTail: string;
}

/** stderr lines kept for failure messages. */
const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_CHARS = 2000;
const IMPORT_CHECK = 'import torch, onnx, numpy; print(torch.__version__)';
const checked = new Map<string, Promise<string>>();

function tailOf(lines: readonly string[]): string {
  const text = lines.slice(-STDERR_TAIL_LINES).join('\n');
  return text.length > STDERR_TAIL_CHARS ? `…${text.slice(-STDERR_TAIL_CHARS)}` : text;
}

function missingModule(stderr: string): string {
  const match = /No module named '([^']+)'/.exec(stderr);
  return match ? `no module named ${match[1]}` : tailOf(stderr.trim().split('\n')).slice(-300) || 'the import failed';
}

function runCheck(python: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-c', IMPORT_CHECK], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout.trim());
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') return reject(new PythonMissingError(python, err));
      reject(new PythonPackagesMissingError(python, missingModule(String(stderr))));
    });
  });
}

/**
 * Resolves with the torch version when `python` can import torch, onnx and numpy; rejects with
 * PythonMissingError or PythonPackagesMissingError naming the apt packages. A success is
 * remembered per interpreter (importing torch takes a second); a failure is not, so installing
 * the packages needs no restart.
 */
export function checkPython(python: string): Promise<string> {
  let pending = checked.get(python);
  if (!pending) {
    pending = runCheck(python);
    checked.set(python, pending);
    pending.catch(() => checked.delete(python));
  }
  return pending;
}

/** Rejects with KronosMissingError unless `dir` holds the `kronos` package (a missing working directory would otherwise look like a missing interpreter). */
export async function checkKronosPackage(dir: string): Promise<void> {
  try {
    await access(join(dir, 'kronos', '__main__.py'));
  } catch {
    throw new KronosMissingError(dir);
  }
}

function parseLine(text: string): TrainingLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && typeof (value as TrainingLine).stage === 'string' ? (value as TrainingLine) : undefined;
  } catch {
    return undefined;
  }
}

function stop(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

/**
 * Runs one training subprocess to its end. Resolves when it exits 0; rejects with
 * TrainingJobError (exit code and stderr tail) otherwise, with PythonMissingError when the
 * interpreter cannot start, and with the signal's reason when aborted (after the process is gone).
 */
export function runTraining(options: TrainingRunOptions): Promise<TrainingRunResult> {
  return new Promise((resolve, reject) => {
    const stderr: string[] = [];
    let done: TrainingLine | undefined;
    const child = spawn(options.python, ['-m', 'kronos', 'train', ...options.args], {
      cwd: options.cwd,
      // Unbuffered, so progress arrives as it happens; the Python side flushes anyway.
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onAbort = () => stop(child, options.killGraceMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = parseLine(text);
      if (!line) return;
      if (line.event === 'done') done = line;
      options.onLine(line);
    });
    createInterface({ input: child.stderr }).on('line', (text) => {
      stderr.push(text);
      if (stderr.length > STDERR_TAIL_LINES * 4) stderr.splice(0, stderr.length - STDERR_TAIL_LINES);
    });
    child.once('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      const code = (err as NodeJS.ErrnoException).code;
      reject(code === 'ENOENT' || code === 'EACCES' ? new PythonMissingError(options.python, err) : err);
    });
    // 'close' (not 'exit'): every byte of stdout and stderr has been read by then.
    child.once('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(options.signal.reason);
      if (exitCode === 0) return resolve({ done, stderrTail: tailOf(stderr) });
      reject(new TrainingJobError(exitCode, signal, tailOf(stderr)));
    });
  });
}
