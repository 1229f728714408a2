import { ErrorCode } from '../errors.js';

/**
 * Exit codes, the same for every command, built-in or from a plugin: 0 done, 2 a usage error (a
 * wrong argument, an unknown option, a flag the command does not honour), 1 a failure at run time.
 */
export function exitCodeOf(err: unknown): number {
  const code = (err as { code?: unknown })?.code;
  if (code === ErrorCode.CliUsage) return 2;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return 2;
  return 1;
}

/**
 * The text printed for a failure. Node's option parser writes several lines for one mistake
 * (`--size -5`); they are joined so that a failure is one line, as for every other error.
 */
export function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return message.replace(/\s*\n\s*/g, ' ');
  return message;
}

/** A completion script for bash or zsh that completes command names (built-in and plugin). */
export function completionScript(shell: string | undefined, commands: string[]): string {
  const words = [...new Set(commands)].sort().join(' ');
  if (shell === 'bash') {
    return [
      '# kokex completion for bash: eval "$(npx kokex completion bash)"',
      '_kokex() {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is bash, not a template.
      '  local cur="${COMP_WORDS[COMP_CWORD]}"',
      '  if [ "$COMP_CWORD" -eq 1 ]; then',
      `    COMPREPLY=( $(compgen -W "${words} --help --version" -- "$cur") )`,
      '  else',
      '    COMPREPLY=( $(compgen -f -- "$cur") )',
      '  fi',
      '}',
      'complete -F _kokex kokex',
    ].join('\n');
  }
  if (shell === 'zsh') {
    return [
      '#compdef kokex',
      '# kokex completion for zsh: source <(npx kokex completion zsh)',
      '_kokex() {',
      '  if (( CURRENT == 2 )); then',
      `    compadd -- ${words} --help --version`,
      '  else',
      '    _files',
      '  fi',
      '}',
      'compdef _kokex kokex',
    ].join('\n');
  }
  const err = new Error(`completion needs a shell: bash or zsh${shell ? ` (got "${shell}")` : ''}`) as Error & { code: string };
  err.code = ErrorCode.CliUsage;
  throw err;
}
