"""The web gateway: authenticates users, serves pages and the JSON API, calls services by RPC."""
