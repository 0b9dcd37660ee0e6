"""The demo center: `omnidesk demo` sets a working contact center up in the tenant `demo`, and
`omnidesk demo traffic` plays calls and agents into a running server (docs/getting-started.md).

It sits above the domains and channels it configures (through their public services, as an
administrator would) and above the benchmarks' SIP peers that its traffic reuses.
"""
