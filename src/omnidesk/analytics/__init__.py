"""Analytics: queue and agent KPIs computed from the event log, the same way live and
historically (docs/kpis.md, docs/adr/0019-kpis-from-the-event-log.md)."""
