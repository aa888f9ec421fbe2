/**
 * V8 heap bounds every service process runs with (the Dockerfile's `NODE_OPTIONS`, and
 * `scripts/lib/stack.js` for local stacks; a deploy test checks they are the same). A service's
 * working set is small — one 8 MiB read block, one day's merge — but V8 sizes its heap from the
 * host's memory and lets it grow under a high allocation rate; with these bounds each process
 * stays under 256 MiB resident whatever the input size.
 */
export const SERVICE_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8';

/**
 * V8 flags every service process starts with that NODE_OPTIONS does not accept, so they are on
 * the command line: `node <SERVICE_NODE_ARGS> services/<name>/dist/main.js` in docker-compose.yml,
 * the k8s Deployments and `scripts/lib/stack.js` (the deploy tests check all three).
 *
 * `--initial-old-space-size=64`: V8 starts a process with a small old generation and collects it
 * whenever it fills, growing the limit slowly; a processor allocates a few MB per chunk and per
 * day merge, and ran a full collection about once per merge. Starting at 64 MB (still bounded by
 * --max-old-space-size) makes those rare; measured on the 1 GB bench: −15 to −20 % wall time,
 * peak RSS unchanged (≈ 160 MiB per processor).
 */
export const SERVICE_NODE_ARGS: readonly string[] = ['--initial-old-space-size=64'];
