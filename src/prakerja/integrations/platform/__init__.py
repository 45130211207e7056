"""A digital platform's side of the partner API, for the demo and the tests: `client.py` calls the
system the way a platform's backend would (signed per partner-api.md), and `sandbox.py` is
`prakerja sandbox platform`, a service that receives the system's webhooks and verifies them with
the Standard Webhooks reference library."""
