/** Runs `fn` and returns what it threw, or undefined: lets tests assert errors with toMatchObject. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
