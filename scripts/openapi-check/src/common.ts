// What every product's client program shares: its settings from the environment and one way
// to check an answer.

/** A setting the script passes in, or a failure naming it. */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** The answer's body when the call succeeded; otherwise the program fails with its status. */
export function ok<T>(
  operation: string,
  answer: { data?: T; error?: unknown; response: Response },
): T {
  const { data, error, response } = answer;
  if (!response.ok || data === undefined) {
    throw new Error(`${operation}: ${response.status} ${JSON.stringify(error)}`);
  }
  console.log(`ok ${operation}: ${response.status}`);
  return data;
}

/** Fails the program unless `condition` holds. */
export function check(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(message);
  }
}
