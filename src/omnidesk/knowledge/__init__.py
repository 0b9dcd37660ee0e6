"""Knowledge and scripts: searchable articles and step-by-step call scripts, per queue, shown
beside the contact on the agent desktop (docs/agent-guide.md, "Knowledge and scripts")."""
