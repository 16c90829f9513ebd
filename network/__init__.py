"""A Deed network: nodes that agree on one ledger through an existing
consensus engine (etcd's Raft orders the blocks). spec/network.md."""
