"""The local stack that `cybercover up` runs, one concern per module:

- `supervisor`: child processes (API, worker, oracle nodes) with logs, back-off restarts and a pid
  file in the data directory;
- `nodes`: the oracle nodes' configs, built from `oracles.config`'s own model (the one place
  service code imports `oracles`: `up` launches both halves);
- `node_access`: the nodes' least-privilege API keys and their target list;
- `launch`: a private `cybercover up` started and awaited (the demo, the end-to-end tests, the
  benchmark).

Ports, waiting and graceful stops are `contracts.procs`; the chain itself is `contracts.anvil`.
The commands (`service.commands.up`, `.demo`) only wire these together.
"""
