"""gRPC servicers of the components a Context serves (private)."""
