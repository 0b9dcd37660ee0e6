"""Quality evaluations: scorecards and supervisors' grades of agents' contacts."""
