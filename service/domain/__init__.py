"""What the service does, under the routes: each module takes the gateway (and the indexer that
projects what it sent) and a database session, and raises ServiceError subclasses. The routes
parse, authorise, call one of these functions and return a response model.

One module per decision a newcomer looks for: underwriting (the quote), issuance (policies),
claims (approve, reject), anchoring (reports on-chain and their verification)."""
