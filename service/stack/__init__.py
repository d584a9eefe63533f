"""What `cybercover up` runs: the supervisor of its children (with a pid file), the oracle nodes'
configs and API keys, and a private `up` for the demo, the tests and the benchmark. Ports, waiting,
graceful stops and the chain are `contracts.procs`."""
