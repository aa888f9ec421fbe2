/** Every API route answers at its bare path and under `/api/`, as the old API did. */
export const BOTH_PREFIXES = ['', 'api'];
