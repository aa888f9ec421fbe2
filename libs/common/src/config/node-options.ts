/**
 * V8 heap bounds every service process runs with (the Dockerfile's `NODE_OPTIONS`, and
 * `scripts/lib/stack.js` for local stacks; a deploy test checks they are the same). A service's
 * working set is small — one 8 MiB read block, one day's merge — but V8 sizes its heap from the
 * host's memory and lets it grow under a high allocation rate; with these bounds each process
 * stays under 256 MiB resident whatever the input size.
 */
export const SERVICE_NODE_OPTIONS = '--max-old-space-size=128 --max-semi-space-size=8';
