"""What `cybercover up` runs (see the modules); ports, waiting, stops and anvil: `contracts.procs`."""
