// `--key=value` arguments of a benchmark script, with defaults.

/** The `--key=value` pairs of argv; `opt(key, fallback)` reads one. */
export function keyValueArgs(argv: readonly string[] = process.argv.slice(2)) {
  const args = new Map(
    argv
      .map((a) => /^--([a-z][a-z0-9-]*)=(.*)$/u.exec(a))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!] as const),
  );
  return { args, opt: (key: string, fallback: string): string => args.get(key) ?? fallback };
}
