"""The runtime every mapping shares: engine, transport, results, supervision."""
