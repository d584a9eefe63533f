"""What `cybercover up` runs: the supervisor of its children (with a pid file), the oracle nodes'
configs and API keys, and a private `up` for the demo, the tests and the benchmark. Ports, waiting
and graceful stops are `contracts.procs`; the chain is `contracts.anvil`."""
