"""The network API's HTTP layer: routes, handlers and the NeutronError body."""
