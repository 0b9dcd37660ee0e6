"""Post-contact surveys: definitions, sending when a contact ends, answers by token, results."""
