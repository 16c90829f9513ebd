"""``deed node``: a long-running local node serving JSON-RPC 2.0 over HTTP.

- :mod:`.service`: the node itself (one chain, one writer, the mining policy,
  the development clock, snapshots), with no HTTP in it;
- :mod:`.rpc`: the registry of JSON-RPC methods, each with its parameters
  and documentation (``spec/node.md`` is generated from it), and the
  JSON-RPC 2.0 dispatcher;
- :mod:`.server`: the HTTP server (aiohttp) and interval mining;
- :mod:`.client`: a small client (the command line's ``--rpc``);
- :mod:`.wire`: values, receipts, logs and blocks as JSON.
"""
