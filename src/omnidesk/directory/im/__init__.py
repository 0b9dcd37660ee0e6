"""Team communication: instant messages between agents, their supervisors and their teams, raised
hands and broadcasts (docs/agent-guide.md, docs/supervisor-guide.md, "Messages").

Part of the directory because every rule here is a rule about users and teams: who may write to
whom (a supervisor and the members of the teams they supervise; admins and anyone), who sees a
team's thread (its members), who sees a raised hand (the supervisors of the agent's teams).
"""
