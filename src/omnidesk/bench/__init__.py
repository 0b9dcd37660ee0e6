"""Benchmarks of the engines, one module per benchmark; `omnidesk bench <name>` runs each.

They sit above the domains and channels (they drive the real engines and, for voice, the whole
app), so no product package imports them. `voice_testbed` is here too: the product's
`omnidesk bench voice` configures its tenant with it, and the voice tests import it from here.
"""
